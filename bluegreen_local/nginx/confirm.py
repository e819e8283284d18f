"""Confirm a reload by behaviour: the generation nginx serves on the admin sockets."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

from bluegreen_local.config.model import Config
from bluegreen_local.model.errors import NginxError
from bluegreen_local.nginx.context import confirm_socket
from bluegreen_local.nginx.control import (
    ADMIN_PATH,
    CONFIRM_POLL,
    EMERG_GRACE,
    Worker,
    _indent,
    new_log_errors,
    workers,
)
from bluegreen_local.probes import http

# -- confirmation by behaviour -------------------------------------------------------------------


def served_generation(admin_socket: Path, timeout: float = 1.0) -> str | None:
    """The generation nginx serves on the admin socket, on a fresh connection; None if none.

    Fresh, always: a kept-alive connection to an old worker would keep answering the old
    generation after a reload. In a deploy the health gate has built the httpx client by
    now; a command that never started an app (status, a rollback to the warm slot) reads with
    http.client rather than import httpx in the middle of a switch.
    """
    return generation(http.fetch(http.Request(ADMIN_PATH, uds=admin_socket, host="bluegreen",
                                              timeout=timeout)))


def generation(answer: http.Probe) -> str | None:
    """The body of a 200 answer, stripped; None for anything else."""
    if answer.status != 200:
        return None
    return answer.body.strip() or None


def confirm(config: Config, master: int, before: set[Worker], token: str, offset: int) -> None:
    """Wait until nginx serves `token` from new workers; raise NginxError on refusal or timeout."""
    deadline = time.monotonic() + config.nginx.reload_timeout
    sock = confirm_socket(config, token)
    errors: list[str] = []
    polls = 0
    while True:
        # Until the master has parsed the files the socket does not exist (a cheap refusal);
        # once it does, the connection waits in its backlog for a new worker to answer.
        if served_generation(sock) == token:
            return
        polls += 1
        if not errors and polls % 20 == 0 and (errors := new_log_errors(config, offset)):
            # nginx retries a failed bind() for about 2.5 s before it gives up and keeps the
            # old configuration: wait that out, so the outcome is settled when we report it.
            deadline = min(deadline, time.monotonic() + EMERG_GRACE)
        if time.monotonic() > deadline and errors:
            raise NginxError("nginx did not load the new configuration:\n" + _indent(
                "\n".join(errors[-5:])))
        if time.monotonic() > deadline:
            served = served_generation(config.nginx.admin_socket)
            fresh = len(workers(master) - before)
            raise NginxError(
                f"nginx did not load the new configuration within "
                f"{config.nginx.reload_timeout:g}s (it serves generation {served!r}, "
                f"expected {token!r}; new workers: {fresh})"
            )
        time.sleep(CONFIRM_POLL)


def remove_confirm_socket(config: Config, token: str) -> None:
    """Remove a generation's socket that a refused configuration left behind (nginx deletes
    the sockets of configurations it loaded and then replaced)."""
    with contextlib.suppress(OSError):
        sock = confirm_socket(config, token)
        if sock.is_socket():
            sock.unlink()
