"""The deploy's dry run: what `deploy VERSION` would do, found without changing anything.

It reads without the lock. Taking the lock writes (the holder record, and the state directory
on a first run), and holding it even for a moment could make a real deploy started at that
instant exit 6: a check must never disturb the run it checks. Nothing is lost by it:
state.json and the nginx files are replaced atomically, so each read sees a whole version,
and a plan can be overtaken by a deploy that starts after it whether or not it held the lock.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Final

from bluegreen_local import nginx, store
from bluegreen_local.config.fields import check_version
from bluegreen_local.config.model import Config
from bluegreen_local.engine import current
from bluegreen_local.engine.preflight import check_listen_free, port_owner_message, require_nginx
from bluegreen_local.model.errors import PortConflictError, StateError
from bluegreen_local.model.results import FileDiff, Plan, PortUse
from bluegreen_local.model.types import Mode, Release, Route, Slot
from bluegreen_local.runners import make_runner, slot_port
from bluegreen_local.runners.base import Runner
from bluegreen_local.store import journal
from bluegreen_local.store.state import State
from bluegreen_local.util import net

# Stands for the random part of the next generation's token, which only a real deploy picks.
PLACEHOLDER: Final = "xxxxxxxx"


def dry_run(config: Config, version: str, *, force: bool = False) -> Plan:
    """The plan, failing where the real deploy would: a taken port is exit 7."""
    plan = plan_deploy(config, version, force=force)
    if plan.refusal is not None:
        raise PortConflictError(f"dry run: the deploy would refuse: {plan.refusal}")
    return plan


def plan_deploy(config: Config, version: str, *, force: bool = False) -> Plan:
    """What deploying `version` would do now: no lock, no recovery, no write, no process."""
    check_version(version)
    require_nginx(config)  # the deploy's first refusal, with the same message and exit 5
    st = store.load(config.state_dir)
    runner = make_runner(config)
    running = nginx.master_pid(config) is not None
    pending = journal.read(config.state_dir) is not None
    same = current.already_live(config, runner, st, version, force=force)
    if same is not None:
        live = same.release
        return Plan(
            config.app.name, version, noop=True, slot=live.slot, port=live.port, live=live,
            idle_port=None, idle_port_detail="", nginx_running=running, generation=st.token,
            placeholder=None, files=_diffs(nginx.desired_files(config, st.routes(), st.token)),
            refusal=None, recovery_pending=pending,
            message=f"{version} is already live and healthy on {live.slot} (port "
                    f"{live.port}): nothing to do")
    return _change(config, runner, st, version, running=running, pending=pending)


def _change(config: Config, runner: Runner, st: State, version: str, *, running: bool,
            pending: bool) -> Plan:
    target = current.target_slot(st)
    port = slot_port(config, target)
    use, detail = _idle_port(runner, st, target, port, config.state_dir)
    token = f"{st.next_generation()[0]}-{PLACEHOLDER}"
    files = _diffs(nginx.desired_files(config, _routes_after(st, target, port, version), token))
    refusal = detail if use is PortUse.FOREIGN else _listen_refusal(config, running=running)
    was = (f" from {st.live.version} on {st.live.slot} (port {st.live.port})"
           if st.live else "")
    live = st.live_instance
    if live is not None and live.version == version and (why := current.start_changed(
            config, live)):
        was += f": {why}"
    return Plan(
        config.app.name, version, noop=False, slot=target, port=port, live=st.live,
        idle_port=use, idle_port_detail=detail, nginx_running=running, generation=token,
        placeholder=PLACEHOLDER, files=files, refusal=refusal, recovery_pending=pending,
        message=f"would start {version} on {target} (port {port}) and move traffic to it{was}")


def _routes_after(st: State, target: Slot, port: int, version: str) -> tuple[Route, ...]:
    """The routes the switch would render: the new release live, the target slot's old
    instance gone, every other role kept (as `st.make_live(new).routes()` has them)."""
    return replace(st.without(target), live=Release(target, port, version)).routes()


def _idle_port(runner: Runner, st: State, target: Slot, port: int,
               state_dir: Path) -> tuple[PortUse, str]:
    """The preflight's answer for the target port, as the deploy would reach it."""
    stale = st.instance(target)
    if stale is not None and not runner.alive(stale):
        stale = None  # recovery forgets an instance that has exited
    if not net.port_is_free(port) and (
            stale is None or runner.port_holder(port, [stale]) is None):
        # Judged as after the deploy stopped our leftover, which is when it would look.
        return PortUse.FOREIGN, port_owner_message(runner, st.without(target), target, port,
                                                  state_dir=state_dir)
    if stale is not None:
        return PortUse.STALE, (f"port {port} ({target} slot): our leftover {stale.version} "
                               f"({stale.handle.describe()}) would be stopped first")
    return PortUse.FREE, f"port {port} ({target} slot) is free"


def _listen_refusal(config: Config, *, running: bool) -> str | None:
    """A managed nginx the deploy would have to start needs its public port free."""
    if running or config.nginx.mode is not Mode.MANAGED:
        return None
    try:
        check_listen_free(config)
    except PortConflictError as exc:
        return str(exc)
    return None


# -- the nginx diff ---------------------------------------------------------------------------


def _diffs(files: Mapping[Path, str]) -> tuple[FileDiff, ...]:
    return tuple(FileDiff(str(path), _diff(path, text)) for path, text in files.items())


def _diff(path: Path, text: str) -> str:
    old = _read(path)
    return "".join(difflib.unified_diff(
        _lines(old or ""), _lines(text), tofile=str(path),
        fromfile="/dev/null" if old is None else str(path)))


def _lines(text: str) -> list[str]:
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        # As diff(1) marks it; without a newline the line would run into the next one.
        lines[-1] += "\n\\ No newline at end of file\n"
    return lines


def _read(path: Path) -> str | None:
    try:
        # A hand edit in another encoding still gets a diff, with its odd bytes replaced.
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StateError(f"cannot read {path}: {exc.strerror}") from None
