"""The status use case: observe the app without the lock, report drift with its fix."""

from __future__ import annotations

import time

import psutil

from bluegreen_local import nginx, store
from bluegreen_local.config.model import Config
from bluegreen_local.engine.preflight import nginx_down, nginx_down_fix
from bluegreen_local.model.errors import ExitCode
from bluegreen_local.model.results import NginxStatus, SlotStatus, StatusResult
from bluegreen_local.model.types import ContainerHandle, Instance, Mode, Slot
from bluegreen_local.probes import health
from bluegreen_local.runners import make_runner, slot_port
from bluegreen_local.runners.base import Runner
from bluegreen_local.runners.containers import image_ref
from bluegreen_local.store import journal

# -- status -----------------------------------------------------------------------------------


def status(config: Config) -> StatusResult:
    """Observe the app without taking the lock or changing anything."""
    st = store.load(config.state_dir)
    runner = make_runner(config)
    live_slot = st.live.slot if st.live else None
    # With nothing live, a recorded process (a failed or interrupted deploy's) is the idle one.
    idle_slot = live_slot.other if live_slot else next((i.slot for i in st.instances), None)
    live = _slot_status(config, runner, live_slot, st.instance(live_slot) if live_slot else None)
    idle = _slot_status(config, runner, idle_slot, st.instance(idle_slot) if idle_slot else None)
    proxy_state = _nginx_status(config)
    events = store.read_history(config.state_dir, 1)
    drift = _drift(config, st, live, proxy_state)
    running = None
    if (left := journal.read(config.state_dir)) is not None:
        if psutil.pid_exists(left.pid):
            running = f"{_journal_what(left)} is in progress, phase {left.phase}"
        else:
            drift.insert(0, (ExitCode.HEALTH, _interrupted_text(left)))
    return StatusResult(config.app.name, live, idle, proxy_state, events[0] if events else None,
                        tuple(text for _, text in drift), running,
                        int(drift[0][0]) if drift else 0)


def _slot_status(config: Config, runner: Runner, slot: Slot | None,
                 proc: Instance | None) -> SlotStatus | None:
    if slot is None:
        return None
    if proc is None or not runner.alive(proc):
        port = proc.port if proc else slot_port(config, slot)
        return SlotStatus(slot, port, proc.version if proc else None, None, False, None, None,
                          None, proc.role if proc else None, runs=None,
                          until=proc.until if proc else None,
                          config_hash=proc.config_hash if proc else None)
    # The port it was started on, which differs from the config's if app.ports changed since.
    healthy = health.judge(health.probe(proc.port, config.health), config.health).healthy
    return SlotStatus(slot, proc.port, proc.version, proc.handle.pid, True, healthy,
                      round(time.time() - proc.started_at, 1), runner.memory(proc), proc.role,
                      _runs(config, proc), proc.until, proc.config_hash)


def _runs(config: Config, proc: Instance) -> str:
    """The handle in words; a container also names its image (what a rollback starts again)."""
    if isinstance(proc.handle, ContainerHandle) and config.docker is not None:
        image = image_ref(config.docker, proc.slot, proc.port, proc.version)
        return f"{proc.handle.describe()} (image {image})"
    return proc.handle.describe()


def _nginx_status(config: Config) -> NginxStatus:
    master = nginx.master_pid(config)
    found = nginx.read_rendered(config)
    rendered = found.token if found else None
    served = nginx.served_generation(config.nginx.admin_socket) if master else None
    listen = config.nginx.listen if config.nginx.mode is Mode.MANAGED else None
    return NginxStatus(config.nginx.mode.value, master is not None, master, listen,
                       str(config.nginx.upstream_file), rendered, served)


def _journal_what(left: journal.Journal) -> str:
    return f"a {left.action} of {left.version} (pid {left.pid}, since {left.started})"


def _interrupted_text(left: journal.Journal) -> str:
    return (f"{_journal_what(left)} was interrupted in phase {left.phase}; run "
            "`bluegreen recover` (the next deploy also does it)")


def _drift(config: Config, st: store.State, live: SlotStatus | None,
           px: NginxStatus) -> list[tuple[ExitCode, str]]:
    """Differences between what state says and what runs, each with the command that fixes it
    and the exit code `status --check` gives for it."""
    problems: list[tuple[ExitCode, str]] = []
    app, proxy = ExitCode.HEALTH, ExitCode.NGINX
    if live is not None and not live.running:
        problems.append((app, f"the live slot {live.slot} ({live.version}) is not running; "
                              "run `bluegreen up` to start it again"))
    elif live is not None and live.healthy is False:
        problems.append((app, f"the live slot {live.slot} fails its health check; run "
                              "`bluegreen up` to replace it with a fresh copy"))
    if live is not None and not px.running:
        problems.append((proxy, f"{nginx_down(config)}; {nginx_down_fix(config)}"))
    edited = st.live is not None and st.token and not nginx.files_current(
        config, st.routes(), st.token)
    if edited:
        problems.append((proxy, "the nginx files differ from what the config and the live "
                                "version call for (edited by hand, or the config changed); "
                                "run `bluegreen recover` to rewrite them"))
    if px.running and px.generation_served not in (None, px.generation_rendered):
        problems.append((proxy, "nginx serves a different generation than the file on disk; "
                                "run `bluegreen recover` to make them agree"))
    return problems
