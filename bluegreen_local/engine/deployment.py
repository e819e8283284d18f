"""One deploy, rollback or up, phase by phase (steps 3-10 of DESIGN.md)."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable
from dataclasses import replace

from bluegreen_local import nginx, store
from bluegreen_local.config.model import Config
from bluegreen_local.engine import signals
from bluegreen_local.engine.drain import drain, wait_workers_gone
from bluegreen_local.engine.preflight import check_listen_free, port_owner_message
from bluegreen_local.engine.prepare import Prepared, discard_staged, next_generation, prepare
from bluegreen_local.engine.progress import Clock, recovery_text, serving_text
from bluegreen_local.engine.reconcile import recover
from bluegreen_local.engine.switch import Switched, switch
from bluegreen_local.model.errors import (
    BlueGreenError,
    HealthCheckError,
    Interrupted,
    NginxError,
    PortConflictError,
    ReloadUndoFailed,
    UsageError,
)
from bluegreen_local.model.results import DeployResult, HistoryEvent, Timings
from bluegreen_local.model.types import Mode, Phase, Release, Slot, SlotProcess
from bluegreen_local.probes import health
from bluegreen_local.runners import make_runner, slot_port
from bluegreen_local.store import journal
from bluegreen_local.store.state import State
from bluegreen_local.util import net
from bluegreen_local.util.clock import now_iso

log = logging.getLogger(__name__)

Reporter = Callable[[Phase, float, str], None]


def quiet(phase: Phase, seconds: float, detail: str) -> None:
    """The default reporter: phases go to the log only."""
    log.info("%s %.3fs %s", phase, seconds, detail)


class Deployment:
    """One deploy or rollback, phase by phase; the caller holds the lock."""

    def __init__(self, config: Config, report: Reporter, action: str) -> None:
        self.config = config
        self.report = report
        self.action = action
        self.runner = make_runner(config)
        self.clock = Clock(time.monotonic(), {})
        self.version = ""
        self.started = now_iso()
        self.prepared: Prepared | None = None  # the switch's files, staged while booting

    def run(self, version: str, *, force: bool) -> DeployResult:
        self.version = version
        with signals.interruptible():
            t = time.monotonic()
            recovery = recover(self.config, self.runner)
            if recovery.actions or recovery.interrupted:
                self.report(Phase.RECOVER, time.monotonic() - t, recovery_text(recovery))
            try:
                return self._run(recovery.state, version, force=force,
                                 recovered=recovery.actions)
            finally:
                # Only a run killed outright leaves its journal behind for the next one.
                journal.clear(self.config.state_dir)
                discard_staged(self.config)

    def up(self) -> DeployResult:
        with signals.interruptible():
            t = time.monotonic()
            recovery = recover(self.config, self.runner)
            if recovery.actions or recovery.interrupted:
                self.report(Phase.RECOVER, time.monotonic() - t, recovery_text(recovery))
            st = recovery.state
            if st.live is None:
                raise UsageError("nothing to bring up: no version has been deployed yet. "
                                 "Run `bluegreen deploy VERSION` first.")
            self.version = st.live.version
            try:
                return self._up(st, st.live, changed=bool(recovery.actions))
            finally:
                journal.clear(self.config.state_dir)
                discard_staged(self.config)

    def _up(self, st: State, live: Release, *, changed: bool) -> DeployResult:
        proc = st.live_process
        if proc is not None and self._current(st, proc):
            return self._result(live, None, changed=changed,
                                message=f"{live.version} is live and healthy")
        if proc is not None and self._healthy(proc):
            # Running and healthy, but nginx is down or serves something else: point it back.
            self._journal(Phase.SWITCH, live)
            return self._switch_and_finish(st, proc, None, keep_on_failure=True)
        # Gone (a crash, a reboot) or hung: start the live version afresh, then switch to it.
        self._journal(Phase.PREFLIGHT)
        st, new = self._start_and_gate(st, live.version, proc,
                                       target=live.slot if proc is None else None)
        return self._switch_and_finish(st, new, proc, keep_on_failure=False)

    def _journal(self, phase: Phase, target: Release | None = None,
                 workers: frozenset[nginx.Worker] | set[nginx.Worker] = frozenset()) -> None:
        journal.write(self.config.state_dir, journal.Journal(
            self.action, self.version, phase, os.getpid(), self.started, target,
            tuple((w.pid, w.create_time) for w in workers)))

    def _run(self, st: State, version: str, *, force: bool,
             recovered: tuple[str, ...]) -> DeployResult:
        live = st.live_process
        if live and live.version == version and not force and self._current(st, live):
            # Recovery may have changed things (e.g. applied an edited config) on the way.
            note = "; ".join(("", *recovered)) if recovered else ""
            return self._result(live.release, None, changed=bool(recovered),
                                message=f"{version} is already live and healthy{note}")
        self._journal(Phase.PREFLIGHT)
        st, new = self._start_and_gate(st, version, live)
        return self._switch_and_finish(st, new, live, keep_on_failure=False)

    # -- steps 3-5: preflight, start, health gate --------------------------------------------

    def _start_and_gate(self, st: State, version: str, live: SlotProcess | None,
                        target: Slot | None = None) -> tuple[State, SlotProcess]:
        if target is None:
            target = st.live.slot.other if st.live else Slot.BLUE
        port = slot_port(self.config, target)
        t = time.monotonic()
        st = self._preflight(st, target, port)
        self.report(Phase.PREFLIGHT, time.monotonic() - t, f"{target} port {port} is free")
        t = time.monotonic()
        new: SlotProcess | None = None
        try:
            # A signal between spawning and recording would orphan the new process: hold it.
            with signals.deferred() as pending:
                self._journal(Phase.START, Release(target, port, version))
                new = self.runner.start(target, port, version)
                st = st.with_process(new)
                store.save(self.config.state_dir, st)
            if pending.received:
                raise KeyboardInterrupt
            self._journal(Phase.HEALTH, new.release)
            self.report(Phase.START, self.clock.lap("start", t), f"{version} pid {new.pid}")
            self._gate(st, new, live)
        except BaseException as exc:
            if new is None:
                raise
            with signals.deferred():  # a second Ctrl-C must not interrupt the clean-up
                self._discard(st, new, live, exc)
            if isinstance(exc, KeyboardInterrupt):
                raise Interrupted(f"interrupted before the switch: {version} on {target} was "
                                  f"stopped; {serving_text(live)}") from None
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
            raise PortConflictError(port_owner_message(self.runner, st, target, port))
        master = nginx.master_pid(self.config)
        if master is None and self.config.nginx.mode is Mode.MANAGED:
            check_listen_free(self.config)
        if master is not None:
            nginx.test(self.config)  # someone else's broken file stops us before we start
        return st

    def _gate(self, st: State, new: SlotProcess, live: SlotProcess | None) -> None:
        t = time.monotonic()
        verdict = health.wait_healthy(new.port, self.config.health,
                                      still_running=lambda: self.runner.alive(new),
                                      # While the app boots: stage and test the switch.
                                      meanwhile=lambda: self._prepare(st, new.release))
        if not verdict.healthy:
            tail = self.runner.log_tail(new.slot)
            raise HealthCheckError(
                f"{new.slot} (port {new.port}) never became healthy: {verdict.reason}. "
                f"{new.version} was stopped; {serving_text(live)}. Fix the app and deploy "
                f"again.\nLast lines of {self.config.state_dir}/logs/{new.slot}.log:\n"
                + "\n".join(f"    {line}" for line in tail.splitlines())
            )
        self.report(Phase.HEALTH, self.clock.lap("healthy", t), verdict.reason)

    def _prepare(self, st: State, target: Release) -> None:
        self.prepared = prepare(self.config, target, *st.next_generation(), st.token)

    # -- steps 6-10: switch, confirm, drain, stop, record ------------------------------------

    def _switch_and_finish(self, st: State, new: SlotProcess, live: SlotProcess | None,
                           *, keep_on_failure: bool) -> DeployResult:
        # From here signals wait: the switch and the drain finish (each bounded by a timeout).
        with signals.deferred() as pending:
            t = time.monotonic()
            number, token = next_generation(st, self.prepared)
            self._journal(Phase.SWITCH, new.release)
            try:
                done = switch(self.config, new.release, number, token, st.token,
                              before_reload=lambda w: self._journal(Phase.SWITCH, new.release, w),
                              prepared=self.prepared)
            except BaseException as exc:
                keep = keep_on_failure or isinstance(exc, ReloadUndoFailed)
                self._discard(st, new, live, exc, keep=keep)
                if isinstance(exc, NginxError) and not keep:
                    raise NginxError(f"{exc}\n{new.version} on {new.slot} was stopped; "
                                     f"{serving_text(live)}. Fix the nginx problem and "
                                     "deploy again.") from None
                raise
            st = self._commit(st, new, live, done)
            self._journal(Phase.DRAIN, new.release, done.old_workers)
            self.report(Phase.SWITCH, self.clock.lap("switch", t),
                        f"traffic on {new.slot} (port {new.port})")
            drained = self._retire(st, live, done)
            result = self._result(new.release, live.release if live else None,
                                  changed=True, drained=drained)
            self._record("ok", new.release, live, result.timings, result.message)
        if pending.received:
            raise Interrupted(f"interrupted: the {self.action} was finished first; "
                              f"{new.version} is live on {new.slot} (port {new.port})")
        return result

    def _commit(self, st: State, new: SlotProcess, live: SlotProcess | None,
                done: Switched) -> State:
        previous = live.release if live else st.previous
        st = replace(st, generation=done.generation, token=done.token, live=new.release,
                     previous=previous)
        store.save(self.config.state_dir, st)
        return st

    def _retire(self, st: State, live: SlotProcess | None, done: Switched) -> bool:
        if live is None:
            # No old slot, but old workers (a shared nginx's) still answer from the previous
            # upstream for a moment: "deployed" means every worker routes to the new slot.
            return not wait_workers_gone(done.old_workers, self.config.drain.timeout)
        t = time.monotonic()
        outcome = drain(done.old_workers, live.port, self.config.drain.timeout)
        detail = "old workers gone, no connections left" if outcome.complete else (
            f"timed out after {self.config.drain.timeout:g}s with {outcome.workers_left} old "
            f"workers and {outcome.connections_left} connections left")
        self.report(Phase.DRAIN, self.clock.lap("drain", t), detail)
        t = time.monotonic()
        self._journal(Phase.STOP, live.release)
        self.runner.stop(live, self.config.app.stop_timeout)
        store.save(self.config.state_dir, st.without(live.slot))
        self.report(Phase.STOP, self.clock.lap("stop", t), f"{live.version} on {live.slot}")
        return outcome.complete

    def _discard(self, st: State, new: SlotProcess, live: SlotProcess | None,
                 exc: BaseException, *, keep: bool = False) -> None:
        """A failed deploy: stop the new slot (unless it must stay up) and record why."""
        if not keep:
            self.runner.stop(new, self.config.app.stop_timeout)
            store.save(self.config.state_dir, st.without(new.slot))
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        with contextlib.suppress(BlueGreenError):
            self._record("failed", new.release, live, self.clock.timings(), why)

    # -- helpers -----------------------------------------------------------------------------

    def _current(self, st: State, live: SlotProcess) -> bool:
        """Live, healthy, served by nginx, and the config would render the same files."""
        if live.port != slot_port(self.config, live.slot):
            return False
        served = nginx.served_generation(self.config.nginx.admin_socket)
        return (served == st.token and nginx.files_current(self.config, live.release, st.token)
                and self._healthy(live))

    def _healthy(self, proc: SlotProcess) -> bool:
        result = health.probe(proc.port, self.config.health)
        return self.runner.alive(proc) and health.judge(result, self.config.health).healthy

    def _result(self, release: Release, previous: Release | None, *, changed: bool,
                drained: bool = True, message: str = "") -> DeployResult:
        return DeployResult(
            changed=changed, app=self.config.app.name, version=release.version,
            slot=release.slot, port=release.port, previous=previous,
            timings=self.clock.timings(), action=self.action, drain_timed_out=not drained,
            message=message or f"{release.version} is live on {release.slot} "
                               f"(port {release.port})",
        )

    def _record(self, outcome: str, release: Release, live: SlotProcess | None,
                timings: Timings, message: str) -> None:
        t = time.monotonic()
        store.append_history(self.config.state_dir, HistoryEvent(
            time=now_iso(), action=self.action, outcome=outcome, app=self.config.app.name,
            version=release.version, slot=release.slot, port=release.port,
            previous=live.release if live else None, user=store.current_user(),
            message=message, timings=timings))
        self.report(Phase.RECORD, time.monotonic() - t, f"{self.action} {outcome}")
