"""Use cases that move traffic: deploy and rollback (steps 1-10 of DESIGN.md)."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from bluegreen_local import health, net, nginx, proxy, signals
from bluegreen_local import state as store
from bluegreen_local.config import Config
from bluegreen_local.drain import drain
from bluegreen_local.errors import (
    BlueGreenError,
    HealthCheckError,
    Interrupted,
    NginxError,
    PortConflictError,
)
from bluegreen_local.models import (
    DeployResult,
    HistoryEvent,
    Mode,
    Phase,
    Release,
    Slot,
    SlotProcess,
    Timings,
)
from bluegreen_local.runners import Runner
from bluegreen_local.runners.process import ProcessRunner
from bluegreen_local.state import State
from bluegreen_local.validate import check_version

log = logging.getLogger(__name__)

Reporter = Callable[[Phase, float, str], None]


def quiet(phase: Phase, seconds: float, detail: str) -> None:
    """The default reporter: phases go to the log only."""
    log.info("%s %.3fs %s", phase, seconds, detail)


def deploy(config: Config, version: str, *, force: bool = False, wait_lock: float = 0.0,
           report: Reporter = quiet) -> DeployResult:
    """Start VERSION on the idle slot and move traffic to it once healthy."""
    check_version(version)
    with store.locked(config.state_dir, wait=wait_lock):
        return Deployment(config, report).run(version, force=force, action="deploy")


def rollback(config: Config, *, wait_lock: float = 0.0, report: Reporter = quiet) -> DeployResult:
    """Go back to the previous version: flip to its slot if it still runs, else redeploy it."""
    with store.locked(config.state_dir, wait=wait_lock):
        current = store.load(config.state_dir)
        if current.previous is None:
            raise BlueGreenError("nothing to roll back to: no previous version is recorded. "
                                 "Nothing was changed; deploy a version by name instead.")
        return Deployment(config, report).run(current.previous.version, force=True,
                                              action="rollback")


def slot_port(config: Config, slot: Slot) -> int:
    return config.app.ports[0] if slot is Slot.BLUE else config.app.ports[1]


def make_runner(config: Config) -> Runner:
    return ProcessRunner(config.app, config.state_dir)


@dataclass(slots=True)
class Clock:
    """Phase timings for one deploy."""

    started: float
    marks: dict[str, float]

    def lap(self, name: str, since: float) -> float:
        self.marks[name] = time.monotonic() - since
        return self.marks[name]

    def timings(self) -> Timings:
        return Timings(**self.marks, total=time.monotonic() - self.started)


class Deployment:
    """One deploy or rollback, phase by phase; the lock is held by the caller."""

    def __init__(self, config: Config, report: Reporter) -> None:
        self.config = config
        self.report = report
        self.runner = make_runner(config)
        self.clock = Clock(time.monotonic(), {})
        self.action = "deploy"

    def run(self, version: str, *, force: bool, action: str) -> DeployResult:
        self.action = action
        st = reconcile(store.load(self.config.state_dir), self.runner)
        live = st.live_process
        if live and live.version == version and not force and self._serving(st, live):
            return self._result(live.release, None, action, changed=False,
                                message=f"{version} is already live and healthy")
        # A warm, healthy previous slot makes rollback a flip: no start, no health wait.
        warm = st.process(st.live.other) if st.live else None
        if action == "rollback" and warm and warm.version == version and self._healthy(warm):
            return self._switch_and_finish(st, warm, live, action)
        with signals.interruptible():
            st, new = self._start_and_gate(st, version, live)
            return self._switch_and_finish(st, new, live, action)

    # -- phases ------------------------------------------------------------------------------

    def _start_and_gate(self, st: State, version: str,
                        live: SlotProcess | None) -> tuple[State, SlotProcess]:
        target = live.slot.other if live else (st.live.other if st.live else Slot.BLUE)
        port = slot_port(self.config, target)
        t = time.monotonic()
        st = self._preflight(st, target, port)
        self.report(Phase.PREFLIGHT, time.monotonic() - t, f"{target} port {port} is free")
        t = time.monotonic()
        new: SlotProcess | None = None
        try:
            # A signal between spawning and recording would orphan the new process: hold it.
            with signals.deferred() as pending:
                new = self.runner.start(target, port, version)
                st = st.with_process(new)
                store.save(self.config.state_dir, st)
            if pending.received:
                raise KeyboardInterrupt
            self.report(Phase.START, self.clock.lap("start", t), f"{version} pid {new.pid}")
            self._gate(new, live)
        except BaseException as exc:
            if new is None:
                raise
            self.runner.stop(new, self.config.app.stop_timeout)
            store.save(self.config.state_dir, st.without(target))
            self._record_failure(version, new, live, str(exc))
            if isinstance(exc, KeyboardInterrupt):
                raise Interrupted(f"interrupted before the switch: {version} on {target} was "
                                  f"stopped; {_serving_text(live)}") from None
            raise
        return st, new

    def _preflight(self, st: State, target: Slot, port: int) -> State:
        stale = st.process(target)
        if stale is not None:
            log.info("stopping stale %s slot (version %s)", target, stale.version)
            self.runner.stop(stale, self.config.app.stop_timeout)
            st = st.without(target)
            store.save(self.config.state_dir, st)
        if not net.port_is_free(port):
            raise PortConflictError(_foreign_port_message(target, port))
        # Someone else's broken file must stop us before anything starts.
        configured = self.config.nginx.mode is Mode.SYSTEM or nginx.main_conf(self.config).exists()
        if configured and nginx.master_pid(self.config) is not None:
            nginx.test(self.config)
        return st

    def _gate(self, new: SlotProcess, live: SlotProcess | None) -> None:
        t = time.monotonic()
        verdict = health.wait_healthy(new.port, self.config.health,
                                      still_running=lambda: self.runner.alive(new))
        if not verdict.healthy:
            tail = self.runner.log_tail(new.slot)
            raise HealthCheckError(
                f"{new.slot} (port {new.port}) never became healthy: {verdict.reason}. "
                f"{new.version} was stopped; {_serving_text(live)}. Fix the app and deploy "
                f"again.\nLast lines of {self.config.state_dir}/logs/{new.slot}.log:\n"
                + "\n".join(f"    {line}" for line in tail.splitlines())
            )
        self.report(Phase.HEALTH, self.clock.lap("healthy", t), verdict.reason)

    def _switch_and_finish(self, st: State, new: SlotProcess, live: SlotProcess | None,
                           action: str) -> DeployResult:
        with signals.deferred() as pending:
            t = time.monotonic()
            try:
                st, old_workers = self._switch(st, new, live)
            except BaseException as exc:
                self._abandon(st, new, live, str(exc), keep=action == "rollback")
                raise
            self.report(Phase.SWITCH, self.clock.lap("switch", t),
                        f"traffic on {new.slot} (port {new.port})")
        if pending.received:
            log.warning("signal received during the switch; the switch was finished first")
        drained = self._retire(st, live, old_workers)
        result = self._result(new.release, live.release if live else None, action,
                              changed=True, drained=drained)
        self._record(action, "ok", new.release, live, result.timings, result.message)
        if pending.received:
            raise Interrupted(f"interrupted: the switch to {new.version} was completed first "
                              f"({new.slot}, port {new.port}) and is live")
        return result

    def _switch(self, st: State, new: SlotProcess,
                live: SlotProcess | None) -> tuple[State, set[nginx.Worker]]:
        number, token = st.next_generation()
        files = {self.config.nginx.upstream_file:
                 nginx.render_upstream(self.config, new.release, token)}
        if self.config.nginx.mode is Mode.MANAGED:
            proxy.prepare_prefix(self.config)
            files[nginx.main_conf(self.config)] = nginx.render_main(self.config)
        master = nginx.master_pid(self.config)
        old_workers: set[nginx.Worker] = set()
        with nginx.installed(files):
            nginx.test(self.config)
            if master is None:
                self._start_proxy(token)
            else:
                old_workers = nginx.workers(master)
                self._reload(master, old_workers, token)
        previous = live.release if live else st.previous
        st = replace(st, generation=number, token=token, live=new.slot, previous=previous)
        store.save(self.config.state_dir, st)
        return st, old_workers

    def _start_proxy(self, token: str) -> None:
        if self.config.nginx.mode is Mode.SYSTEM:
            raise NginxError(f"nginx is not running (no live master in "
                             f"{self.config.nginx.pid_file}); start it and deploy again")
        proxy.start(self.config, token)

    def _reload(self, master: int, before: set[nginx.Worker], token: str) -> None:
        offset = nginx.log_size(self.config)
        nginx.signal_reload(self.config, master)
        try:
            nginx.confirm(self.config, master, before, token, offset)
        except NginxError:
            # Put nginx back on the restored file so what runs matches what is on disk.
            with contextlib.suppress(BlueGreenError):
                nginx.signal_reload(self.config, master)
            raise

    def _retire(self, st: State, live: SlotProcess | None,
                old_workers: set[nginx.Worker]) -> bool:
        if live is None:
            return True
        t = time.monotonic()
        outcome = drain(old_workers, live.port, self.config.drain.timeout)
        detail = "old workers gone, no connections left" if outcome.complete else (
            f"timed out after {self.config.drain.timeout:g}s with {outcome.workers_left} old "
            f"workers and {outcome.connections_left} connections left")
        self.report(Phase.DRAIN, self.clock.lap("drain", t), detail)
        t = time.monotonic()
        self.runner.stop(live, self.config.app.stop_timeout)
        store.save(self.config.state_dir, st.without(live.slot))
        self.report(Phase.STOP, self.clock.lap("stop", t), f"{live.version} on {live.slot}")
        return outcome.complete

    def _abandon(self, st: State, new: SlotProcess, live: SlotProcess | None, why: str,
                 *, keep: bool) -> None:
        """The switch failed: stop the new slot (unless it is a warm one) and record it."""
        if not keep:
            self.runner.stop(new, self.config.app.stop_timeout)
            store.save(self.config.state_dir, st.without(new.slot))
        self._record_failure(new.version, new, live, why)

    # -- helpers -----------------------------------------------------------------------------

    def _serving(self, st: State, live: SlotProcess) -> bool:
        served = nginx.served_generation(self.config.nginx.admin_socket)
        return served == st.token and self._healthy(live)

    def _healthy(self, proc: SlotProcess) -> bool:
        result = health.probe(proc.port, self.config.health)
        return self.runner.alive(proc) and health.judge(result, self.config.health).healthy

    def _result(self, release: Release, previous: Release | None, action: str, *,
                changed: bool, drained: bool = True, message: str = "") -> DeployResult:
        return DeployResult(
            ok=True, changed=changed, app=self.config.app.name, version=release.version,
            slot=release.slot, port=release.port, previous=previous,
            timings=self.clock.timings(), action=action, drain_timed_out=not drained,
            message=message or f"{release.version} is live on {release.slot} "
                               f"(port {release.port})",
        )

    def _record(self, action: str, outcome: str, release: Release, live: SlotProcess | None,
                timings: Timings | None, message: str) -> None:
        event = HistoryEvent(
            time=store.now_iso(), action=action, outcome=outcome, app=self.config.app.name,
            version=release.version, slot=release.slot, port=release.port,
            previous=live.release if live else None, user=store.current_user(), message=message,
            timings=timings,
        )
        t = time.monotonic()
        store.append_history(self.config.state_dir, event)
        self.report(Phase.RECORD, time.monotonic() - t, f"{action} {outcome}")

    def _record_failure(self, version: str, new: SlotProcess, live: SlotProcess | None,
                        why: str) -> None:
        with contextlib.suppress(BlueGreenError):
            self._record(self.action, "failed", new.release, live, self.clock.timings(),
                         why.splitlines()[0] if why else "interrupted")


def reconcile(st: State, runner: Runner) -> State:
    """Forget slot processes that are gone (crashed, killed, host rebooted)."""
    for proc in st.slots:
        if not runner.alive(proc):
            log.warning("%s slot process %d (%s) is gone", proc.slot, proc.pid, proc.version)
            st = st.without(proc.slot)
    return st


def _serving_text(live: SlotProcess | None) -> str:
    if live is None:
        return "nothing was serving before and nothing serves now"
    return f"traffic stays on {live.slot} ({live.version}, port {live.port})"


def _foreign_port_message(target: Slot, port: int) -> str:
    owners = sorted(net.listener_pids(port))
    who = ", ".join(_describe_pid(pid) for pid in owners) or "a process we cannot see"
    return (f"port {port} ({target} slot) is taken by {who}, which bluegreen did not start. "
            f"Nothing was changed. Stop that process or choose other app.ports.")


def _describe_pid(pid: int) -> str:
    import psutil

    try:
        cmd = " ".join(psutil.Process(pid).cmdline())[:80]
    except psutil.Error:
        cmd = "?"
    return f"pid {pid} ({cmd})"
