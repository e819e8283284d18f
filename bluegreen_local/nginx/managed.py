"""The managed (private) nginx: prepare its prefix, start it, stop it."""

from __future__ import annotations

import contextlib
import glob
import os
import signal
from typing import Final

import psutil

from bluegreen_local import nginx
from bluegreen_local.config.model import Config
from bluegreen_local.model.errors import CommandError, NginxError
from bluegreen_local.store.files import ensure_dir
from bluegreen_local.util import proc, pstree
from bluegreen_local.util.poll import poll_until

START_TIMEOUT: Final = 10.0
STOP_TIMEOUT: Final = 10.0


def prepare_prefix(config: Config) -> None:
    """Create the prefix tree. As root, workers run as nobody and must traverse (not list) it."""
    prefix = config.nginx_prefix
    for sub in ("conf", "logs", "tmp"):
        ensure_dir(prefix / sub)
    if os.geteuid() == 0:
        for path in (config.state_dir, prefix, prefix / "tmp"):
            path.chmod(0o711)


def start(config: Config, token: str) -> int:
    """Start the managed nginx (its config is already installed) and wait until it serves."""
    _remove_stale_socket(config)
    offset = nginx.log_size(config)
    try:
        proc.run(nginx.managed_argv(config), timeout=START_TIMEOUT)
    except CommandError as exc:
        raise NginxError(f"cannot start nginx: {exc}\n{exc.output.strip()}") from None
    master = poll_until(lambda: _serving(config, token, offset), timeout=START_TIMEOUT,
                        interval=0.01, what="the managed nginx to serve")
    if master is None:
        raise NginxError(f"nginx did not start serving within {START_TIMEOUT:g}s; "
                         f"see {config.nginx.error_log}")
    return master


def _serving(config: Config, token: str, offset: int) -> int | None:
    """The master's pid once it serves `token`; raise if nginx logged why it cannot."""
    master = nginx.master_pid(config)
    if master is not None and nginx.served_generation(
            nginx.confirm_socket(config, token)) == token:
        return master
    if errors := nginx.new_log_errors(config, offset):
        raise NginxError("nginx failed to start:\n" + "\n".join(errors[-5:]))
    return None


def _remove_stale_socket(config: Config) -> None:
    # A killed nginx leaves its unix sockets behind, and bind() would then fail.
    admin = config.nginx.admin_socket
    for path in (admin, *admin.parent.glob(f"{glob.escape(admin.name)}.*")):
        with contextlib.suppress(OSError):
            if path.is_socket():
                path.unlink()


def stop(config: Config) -> bool:
    """Gracefully stop the managed nginx (QUIT, then TERM, then KILL). True if one ran."""
    master = nginx.master_pid(config)
    if master is None:
        return False
    try:
        process = psutil.Process(master)
    except psutil.Error:
        return False
    members = pstree.tree(process)
    for sig, wait in ((signal.SIGQUIT, STOP_TIMEOUT), (signal.SIGTERM, 2.0)):
        pstree.send(process, sig)
        alive = pstree.wait_gone(members, wait)
        if not alive:
            break
    else:
        # Workers outlive a killed master, so every member of the tree gets the KILL.
        for left in alive:
            pstree.send(left, signal.SIGKILL)
        pstree.wait_gone(alive, 2.0)
    _remove_stale_socket(config)
    return True
