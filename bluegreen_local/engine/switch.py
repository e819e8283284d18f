"""The switch transaction: point nginx at a slot and prove it, or put everything back."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from bluegreen_local import nginx
from bluegreen_local.config.model import Config
from bluegreen_local.engine.drain import wait_workers_gone as drain
from bluegreen_local.engine.preflight import nginx_down, nginx_down_fix
from bluegreen_local.engine.prepare import Prepared, usable
from bluegreen_local.model.errors import NginxError, ReloadUndoFailed
from bluegreen_local.model.types import Mode, Route
from bluegreen_local.nginx import managed, staged
from bluegreen_local.nginx.control import Worker

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Switched:
    """A confirmed switch: the generation nginx now serves and the workers it replaced."""

    generation: int
    token: str
    old_workers: frozenset[Worker]


def switch(config: Config, routes: tuple[Route, ...], generation: int, token: str,
           old_token: str, *, before_reload: Callable[[set[Worker]], None] = lambda _: None,
           prepared: Prepared | None = None) -> Switched:
    """Point nginx at `routes`: install the files, test them, reload and confirm; on failure
    the files and nginx are put back. With the files `prepared` (staged and tested while the
    new version booted) and nothing changed since, installing is a rename and the test is not
    run again.

    Raises NginxError with nginx back on the old generation, or ReloadUndoFailed when that
    could not be confirmed (then nginx may serve either slot, and both must stay up).
    """
    specs = nginx.file_specs(config, routes, token)
    ready = prepared if usable(prepared, specs, old_token) else None
    if prepared is not None and ready is None:
        log.info("nginx files changed since they were staged: rendering and testing again")
    if config.nginx.mode is Mode.MANAGED:
        managed.prepare_prefix(config)
    try:
        files = ready.files if ready else nginx.render_all(specs)
        before = _install_and_reload(config, token, old_token, files, ready, before_reload)
    finally:
        staged.discard(config)  # renamed into place, or no longer wanted
    nginx.record_installed(config, specs, files)
    return Switched(generation, token, frozenset(before or ()))


def _install_and_reload(config: Config, token: str, old_token: str, files: Mapping[Path, str],
                        ready: Prepared | None,
                        before_reload: Callable[[set[Worker]], None]) -> set[Worker] | None:
    """The transaction: the workers nginx had before the reload (None: nginx was started)."""
    master = nginx.master_pid(config)
    before: set[Worker] | None = None
    try:
        with nginx.installed(files, ready.copies if ready else None):
            if ready is None or not ready.tested:
                nginx.test(config)
            if master is None:
                _start_proxy(config, token)
            else:
                before = nginx.workers(master)
                before_reload(before)
                offset = nginx.log_size(config)
                nginx.signal_reload(config, master)
                nginx.confirm(config, master, before, token, offset)
    except NginxError as exc:
        # installed() has restored the old files by now; make nginx serve them again.
        if before is not None and master is not None:
            _undo_reload(config, master, before, old_token, exc)
            nginx.remove_confirm_socket(config, token)
        raise
    return before


def _start_proxy(config: Config, token: str) -> None:
    if config.nginx.mode is Mode.SYSTEM:
        # It ran when the deploy began (preflight.require_nginx) and stopped meanwhile.
        raise NginxError(f"{nginx_down(config)}; {nginx_down_fix(config)}")
    managed.start(config, token)


def _undo_reload(config: Config, master: int, before: set[Worker], old_token: str,
                 cause: NginxError) -> None:
    """Make sure nginx serves the old generation again, reloading the restored files if the
    failed reload took effect after all."""
    current = nginx.workers(master)
    served = nginx.served_generation(config.nginx.admin_socket)
    if old_token and served == old_token and not current - before:
        # nginx refused the new files and kept its workers: nothing to undo. (Another HUP
        # would only retry the same failing reload.)
        return
    offset = nginx.log_size(config)
    try:
        nginx.signal_reload(config, master)
        if old_token:
            nginx.confirm(config, master, current, old_token, offset)
            # Workers that loaded the failed files proxy to the new slot: let them finish.
            drain(current, config.drain.timeout)
    except NginxError as again:
        raise ReloadUndoFailed(
            f"{cause}\nThen reloading the restored configuration could not be confirmed "
            f"either ({again}); nginx may serve either slot, so both were left running. "
            "Check `bluegreen status` and the nginx error log, then deploy again."
        ) from None
    log.info("nginx is back on generation %s", old_token or "(unknown)")
