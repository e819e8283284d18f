"""Use cases that observe or tidy up: status, history, down, check, init."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import psutil

from bluegreen_local import health, journal, net, nginx, proxy, templating
from bluegreen_local import state as store
from bluegreen_local.config import Config
from bluegreen_local.errors import BlueGreenError, CommandError, NginxError, UsageError
from bluegreen_local.models import (
    CheckItem,
    CheckResult,
    DownResult,
    HistoryEvent,
    Mode,
    NginxStatus,
    Slot,
    SlotProcess,
    SlotStatus,
    StatusResult,
)
from bluegreen_local.runners import Runner
from bluegreen_local.runners.slots import make_runner, slot_port
from bluegreen_local.validate import APP_NAME_RE

# -- status -----------------------------------------------------------------------------------


def status(config: Config) -> StatusResult:
    """Observe the app without taking the lock or changing anything."""
    st = store.load(config.state_dir)
    runner = make_runner(config)
    live_slot = st.live.slot if st.live else None
    # With nothing live, a recorded process (a failed or interrupted deploy's) is the idle one.
    idle_slot = live_slot.other if live_slot else next((p.slot for p in st.slots), None)
    live = _slot_status(config, runner, live_slot, st.process(live_slot) if live_slot else None)
    idle = _slot_status(config, runner, idle_slot, st.process(idle_slot) if idle_slot else None)
    proxy_state = _nginx_status(config)
    events = store.read_history(config.state_dir, 1)
    problems = _drift(config, st, live, proxy_state)
    if (killed := journal.read(config.state_dir)) is not None:
        problems.insert(0, _journal_text(killed))
    return StatusResult(config.app.name, live, idle, proxy_state, events[0] if events else None,
                        tuple(problems))


def _slot_status(config: Config, runner: Runner, slot: Slot | None,
                 proc: SlotProcess | None) -> SlotStatus | None:
    if slot is None:
        return None
    if proc is None or not runner.alive(proc):
        port = proc.port if proc else slot_port(config, slot)
        return SlotStatus(slot, port, proc.version if proc else None, None, False, None, None,
                          None)
    # The port it was started on, which differs from the config's if app.ports changed since.
    healthy = health.judge(health.probe(proc.port, config.health), config.health).healthy
    return SlotStatus(slot, proc.port, proc.version, proc.pid, True, healthy,
                      round(time.time() - proc.started_at, 1), runner.memory(proc))


def _nginx_status(config: Config) -> NginxStatus:
    master = nginx.master_pid(config)
    found = nginx.read_rendered(config)
    rendered = found.token if found else None
    served = nginx.served_generation(config.nginx.admin_socket) if master else None
    listen = config.nginx.listen if config.nginx.mode is Mode.MANAGED else None
    return NginxStatus(config.nginx.mode.value, master is not None, master, listen,
                       str(config.nginx.upstream_file), rendered, served)


def _journal_text(left: journal.Journal) -> str:
    what = f"a {left.action} of {left.version} (pid {left.pid}, since {left.started})"
    if psutil.pid_exists(left.pid):
        return f"{what} is in progress, phase {left.phase}"
    return (f"{what} was interrupted in phase {left.phase}; run `bluegreen recover` "
            "(the next deploy also does it)")


def _drift(config: Config, st: store.State, live: SlotStatus | None,
           px: NginxStatus) -> list[str]:
    """Differences between what state says and what runs, each with the command that fixes it."""
    problems = []
    if live is not None and not live.running:
        problems.append(f"the live slot {live.slot} ({live.version}) is not running; "
                        "run `bluegreen up` to start it again")
    elif live is not None and live.healthy is False:
        problems.append(f"the live slot {live.slot} fails its health check; run `bluegreen up` "
                        "to replace it with a fresh copy")
    if live is not None and not px.running:
        problems.append("nginx is not running; run `bluegreen up`")
    edited = st.live is not None and st.token and not nginx.files_current(
        config, st.live, st.token)
    if edited:
        problems.append("the nginx files differ from what the config and the live version "
                        "call for (edited by hand, or the config changed); run "
                        "`bluegreen recover` to rewrite them")
    if px.running and px.generation_served not in (None, px.generation_rendered):
        problems.append("nginx serves a different generation than the file on disk; "
                        "run `bluegreen recover` to make them agree")
    return problems


# -- history ----------------------------------------------------------------------------------


def history(config: Config, limit: int) -> list[HistoryEvent]:
    if limit < 1:
        raise UsageError("-n must be 1 or more")
    return store.read_history(config.state_dir, limit)


# -- down -------------------------------------------------------------------------------------


def down(config: Config, *, wait_lock: float = 0.0) -> DownResult:
    """Stop both slots and, in managed mode, the private nginx."""
    with store.locked(config.state_dir, wait=wait_lock):
        st = store.load(config.state_dir)
        runner = make_runner(config)
        # Traffic leaves nginx first in managed mode, so no client sees a refused upstream.
        nginx_stopped = config.nginx.mode is Mode.MANAGED and proxy.stop(config)
        stopped = []
        for proc in st.slots:
            if runner.alive(proc):
                runner.stop(proc, config.app.stop_timeout)
                stopped.append(proc.release)
        live = st.live_process
        previous = live.release if live else st.previous
        store.save(config.state_dir, dataclasses.replace(
            st, live=None, slots=(), previous=previous))
        changed = bool(stopped) or nginx_stopped
        if changed:
            store.append_history(config.state_dir, HistoryEvent(
                time=store.now_iso(), action="down", outcome="ok", app=config.app.name,
                version=None, slot=None, port=None, previous=previous, user=store.current_user(),
                message=f"stopped {len(stopped)} slot(s)"))
        return DownResult(config.app.name, tuple(stopped), nginx_stopped, changed)


# -- check ------------------------------------------------------------------------------------


def check(config: Config) -> CheckResult:
    """Validate config, nginx and ports without changing anything."""
    items = [CheckItem("config", True, f"{config.path} is valid")]
    items.append(_check_nginx(config))
    st = store.load(config.state_dir)
    runner = make_runner(config)
    for slot in Slot:
        items.append(_check_port(config, runner, slot, st.process(slot)))
    if config.nginx.mode is Mode.MANAGED and nginx.master_pid(config) is None:
        port = int(config.nginx.listen.rpartition(":")[2])
        free = net.port_is_free(port)
        items.append(CheckItem("listen", free, f"{config.nginx.listen} is "
                               + ("free" if free else "taken by another process")))
    snippet = nginx.render_site_snippet(config) if config.nginx.mode is Mode.SYSTEM else ""
    return CheckResult(config.app.name, all(i.ok for i in items), tuple(items), snippet)


def _check_port(config: Config, runner: Runner, slot: Slot,
                proc: SlotProcess | None) -> CheckItem:
    port = slot_port(config, slot)
    if proc is not None and runner.alive(proc):
        return CheckItem(f"port {port}", True, f"{slot}: ours ({proc.version}, pid {proc.pid})")
    if net.port_is_free(port):
        return CheckItem(f"port {port}", True, f"{slot}: free")
    return CheckItem(f"port {port}", False, f"{slot}: taken by a process bluegreen did not start")


def _check_nginx(config: Config) -> CheckItem:
    if config.nginx.mode is Mode.SYSTEM:
        try:
            nginx.test(config)
        except (NginxError, CommandError) as exc:
            return CheckItem("nginx", False, str(exc))
        return CheckItem("nginx", True, "the system nginx configuration passes its test")
    import tempfile  # here, not at the top: `status` shares this module and is latency-bound

    with tempfile.TemporaryDirectory(prefix="bgcheck") as tmp:
        trial = _trial_config(config, Path(tmp))
        try:
            proxy.prepare_prefix(trial)
            nginx.write_trial(trial)
            nginx.test(trial)
        except BlueGreenError as exc:
            return CheckItem("nginx", False, str(exc))
    return CheckItem("nginx", True, "the managed nginx configuration renders and passes nginx -t")


def _trial_config(config: Config, tmp: Path) -> Config:
    """The same config with every path moved into a scratch directory."""
    prefix = tmp / "nginx"
    ngx = dataclasses.replace(
        config.nginx, admin_socket=prefix / "admin.sock", upstream_file=prefix / "conf/up.conf",
        pid_file=prefix / "nginx.pid", error_log=prefix / "logs/error.log")
    return dataclasses.replace(config, state_dir=tmp, nginx=ngx)


# -- init -------------------------------------------------------------------------------------


def init(path: Path, name: str, *, force: bool = False) -> Path:
    """Write a commented starter config; refuse to overwrite unless forced."""
    if not APP_NAME_RE.fullmatch(name):
        raise UsageError(f"invalid app name {name!r}: use a-z 0-9 _ -, starting with a letter "
                         "or digit")
    if path.exists() and not force:
        raise UsageError(f"{path} already exists; nothing was written (use --force to replace)")
    store.atomic_write(path, templating.render("bluegreen.toml.j2", name=name), mode=0o644)
    return path
