"""Confirm a reload by behaviour: the generation nginx serves on the admin sockets."""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

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
from bluegreen_local.util.poll import poll_until

# The error log is read on every LOG_EVERY-th poll only: at 1 ms polls that is every ~20 ms,
# soon enough for a refusal that nginx takes ~2.5 s to settle (EMERG_GRACE).
LOG_EVERY: Final = 20

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
    sock = confirm_socket(config, token)
    error_log = _ErrorLog(config, offset)

    def served() -> bool:
        # Until the master has parsed the files the socket does not exist (a cheap refusal);
        # once it does, the connection waits in its backlog for a new worker to answer.
        if served_generation(sock) == token:
            return True
        error_log.poll()
        return False

    if poll_until(served, timeout=config.nginx.reload_timeout, interval=CONFIRM_POLL,
                  what=f"nginx to serve generation {token}"):
        return
    error_log.raise_refusal()
    now_served = served_generation(config.nginx.admin_socket)
    fresh = len(workers(master) - before)
    raise NginxError(
        f"nginx did not load the new configuration within "
        f"{config.nginx.reload_timeout:g}s (it serves generation {now_served!r}, "
        f"expected {token!r}; new workers: {fresh})"
    )


@dataclass(slots=True)
class _ErrorLog:
    """nginx's error log during a confirmation: read every LOG_EVERY polls until it shows
    [emerg]/[alert] lines, which end the wait once nginx has had EMERG_GRACE to settle."""

    config: Config
    offset: int
    polls: int = 0
    errors: list[str] = field(default_factory=list)
    settled: float = math.inf

    def poll(self) -> None:
        """Count a poll that did not see the generation; raise once a refusal has settled."""
        self.polls += 1
        if not self.errors and self.polls % LOG_EVERY == 0 and (
                errors := new_log_errors(self.config, self.offset)):
            self.errors = errors
            # nginx retries a failed bind() for about 2.5 s before it gives up and keeps the
            # old configuration: wait that out, so the outcome is settled when we report it.
            self.settled = time.monotonic() + EMERG_GRACE
        if time.monotonic() > self.settled:
            self.raise_refusal()

    def raise_refusal(self) -> None:
        if self.errors:
            raise NginxError("nginx did not load the new configuration:\n" + _indent(
                "\n".join(self.errors[-5:])))


def remove_confirm_socket(config: Config, token: str) -> None:
    """Remove a generation's socket that a refused configuration left behind (nginx deletes
    the sockets of configurations it loaded and then replaced)."""
    with contextlib.suppress(OSError):
        sock = confirm_socket(config, token)
        if sock.is_socket():
            sock.unlink()
