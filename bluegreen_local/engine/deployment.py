"""One deploy, rollback or up, phase by phase (steps 3-10 of DESIGN.md)."""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import replace

from bluegreen_local import nginx, store
from bluegreen_local.config.identity import StartSettings
from bluegreen_local.config.model import Config
from bluegreen_local.engine import capacity, current, progress, reaper, signals
from bluegreen_local.engine.drain import drain, wait_workers_gone
from bluegreen_local.engine.phases import Phases, Reporter
from bluegreen_local.engine.preflight import (
    check_listen_free,
    check_nginx_programs,
    port_owner_message,
    require_nginx,
)
from bluegreen_local.engine.prepare import Prepared, next_generation, prepare
from bluegreen_local.engine.progress import recovery_text
from bluegreen_local.engine.reconcile import Recovery, recover
from bluegreen_local.engine.switch import Switched, switch
from bluegreen_local.model.errors import (
    BlueGreenError,
    NginxError,
    PortConflictError,
    ReloadUndoFailed,
    RunnerError,
)
from bluegreen_local.model.results import DeployResult, HistoryEvent, Timings
from bluegreen_local.model.types import Instance, Mode, Phase, Release, Slot
from bluegreen_local.nginx import staged
from bluegreen_local.probes import health
from bluegreen_local.runners import make_runner, slot_port
from bluegreen_local.store import journal, releases
from bluegreen_local.store.state import State
from bluegreen_local.util import net
from bluegreen_local.util.clock import now_iso

log = logging.getLogger(__name__)


class Deployment:
    """One deploy or rollback, phase by phase; the caller holds the lock."""

    def __init__(self, config: Config, report: Reporter, action: str) -> None:
        self.config = config
        self.action = action
        self.runner = make_runner(config)
        self.skip_capacity_check = False  # --skip-capacity-check; recorded in history
        self.phases = Phases(config.state_dir, action, "", report, started_at=now_iso())
        self.prepared: Prepared | None = None  # the switch's files, staged while booting
        self.why = ""  # why the live version itself is deployed again (its start settings)
        self.digest: str | None = None  # the start settings of the version this run started

    def run(self, version: str, *, force: bool) -> DeployResult:
        self.phases.version = version
        with self.phases:
            require_nginx(self.config)  # before recovery or a boot that would be wasted
            recovery = self._recover()
            try:
                result = self._run(recovery.state, version, force=force,
                                   recovered=recovery.actions)
            finally:
                # Only a run killed outright leaves its journal behind for the next one.
                journal.clear(self.config.state_dir)
                staged.discard(self.config)  # also what a killed run left
        return self._finished(result)

    def up(self) -> DeployResult:
        with self.phases:
            require_nginx(self.config)
            recovery = self._recover()
            st = recovery.state
            if st.live is None:
                raise progress.nothing_to_bring_up()
            self.phases.version = st.live.version
            try:
                result = self._up(st, st.live, changed=bool(recovery.actions))
            finally:
                journal.clear(self.config.state_dir)
                staged.discard(self.config)  # also what a killed run left
        return self._finished(result)

    def _recover(self) -> Recovery:
        t = time.monotonic()
        recovery = recover(self.config, self.runner)
        if recovery.actions or recovery.interrupted:
            self.phases.tell(Phase.RECOVER, time.monotonic() - t, recovery_text(recovery))
        return recovery

    def _finished(self, result: DeployResult) -> DeployResult:
        """A signal that arrived once traffic began to move waited for the end: say so now."""
        if self.phases.interrupted:
            raise progress.interrupted_after_switch(self.action, result)
        return result

    def _up(self, st: State, live: Release, *, changed: bool) -> DeployResult:
        inst = st.live_instance
        if inst is not None and current.serving(self.config, self.runner, st, inst):
            return self._result(live, None, changed=changed,
                                message=f"{live.version} is live and healthy")
        if inst is not None and current.healthy(self.config, self.runner, inst):
            # Running and healthy, but nginx is down or serves something else: point it back.
            return self._switch_and_finish(st, inst, None, keep_on_failure=True)
        # Gone (a crash, a reboot) or hung: start the live version afresh, then switch to it.
        st, new = self._start_and_gate(st, live.version, inst,
                                       target=live.slot if inst is None else None)
        return self._switch_and_finish(st, new, inst, keep_on_failure=False)

    def _run(self, st: State, version: str, *, force: bool,
             recovered: tuple[str, ...]) -> DeployResult:
        live = st.live_instance
        if (same := current.already_live(self.config, self.runner, st, version,
                                         force=force)) is not None:
            # Recovery may have changed things (e.g. applied an edited config) on the way.
            note = "; ".join(("", *recovered)) if recovered else ""
            return self._result(same.release, None, changed=bool(recovered),
                                message=f"{version} is already live and healthy{note}")
        if live is not None and live.version == version and not force:
            self.why = current.start_changed(self.config, live)
        st, new = self._start_and_gate(st, version, live)
        return self._switch_and_finish(st, new, live, keep_on_failure=False)

    # -- steps 3-5: preflight, start, health gate --------------------------------------------

    def _start_and_gate(self, st: State, version: str, live: Instance | None,
                        target: Slot | None = None) -> tuple[State, Instance]:
        if target is None:
            target = current.target_slot(st)
        port = slot_port(self.config, target)
        with self.phases.run(Phase.PREFLIGHT) as step:
            st = self._preflight(st, target, port)
            if not self.skip_capacity_check:
                capacity.check(self.config, self.runner, live, version)
            step.detail = f"{target} port {port} is free"
        new: Instance | None = None
        try:
            # HOLD: a signal between spawning and recording would orphan the new version.
            with self.phases.run(Phase.START, Release(target, port, version)) as step:
                self.digest = releases.remember(self.config.state_dir,
                                                StartSettings.of(self.config.app))
                new = replace(self.runner.start(target, port, version), config_hash=self.digest)
                st = st.with_instance(new)
                store.save(self.config.state_dir, st)
                step.detail = f"{version} {new.handle.describe()}"
            self._gate(st, new, live)
        except BaseException as exc:
            if new is None:
                if isinstance(exc, RunnerError):  # it never ran, yet it is a failed deploy
                    self._failed(Release(target, port, version), live, exc)
                raise
            with signals.deferred():  # a second Ctrl-C must not interrupt the clean-up
                self._discard(st, new, live, exc)
            if isinstance(exc, KeyboardInterrupt):
                raise progress.interrupted_before_switch(version, target, live) from None
            raise
        return st, new

    def _preflight(self, st: State, target: Slot, port: int) -> State:
        stale = st.instance(target)
        if stale is not None:
            log.info("stopping stale %s slot (version %s)", target, stale.version)
            self.runner.stop(stale, self.config.app.stop_timeout)
            st = st.without(target)
            store.save(self.config.state_dir, st)
        if not net.port_is_free(port):
            raise PortConflictError(port_owner_message(self.runner, st, target, port,
                                                       state_dir=self.config.state_dir))
        check_nginx_programs(self.config)
        master = nginx.master_pid(self.config)
        if master is None and self.config.nginx.mode is Mode.MANAGED:
            check_listen_free(self.config)
        if master is not None:
            nginx.test(self.config)  # someone else's broken file stops us before we start
        return st

    def _gate(self, st: State, new: Instance, live: Instance | None) -> None:
        with self.phases.run(Phase.HEALTH, new.release) as step:
            verdict = health.wait_healthy(new.port, self.config.health,
                                          still_running=lambda: self.runner.alive(new),
                                          # While the app boots: stage and test the switch.
                                          meanwhile=lambda: self._prepare(st, new))
            if not verdict.healthy:
                tail = self.runner.log_tail(new.slot)
                raise progress.never_healthy(new, live, verdict.reason,
                                             self.runner.log_path(new.slot), tail)
            step.detail = verdict.reason

    def _prepare(self, st: State, new: Instance) -> None:
        routes = st.make_live(new).routes()
        self.prepared = prepare(self.config, routes, *st.next_generation(), st.token)

    # -- steps 6-10: switch, confirm, drain, stop, record ------------------------------------

    def _switch_and_finish(self, st: State, new: Instance, live: Instance | None,
                           *, keep_on_failure: bool, keep_old: float | None = None
                           ) -> DeployResult:
        # FINISH: from here signals wait; the switch and the drain finish (each bounded).
        with self.phases.run(Phase.SWITCH, new.release) as step:
            done = self._switch(st, new, live, keep_on_failure=keep_on_failure)
            step.detail = f"traffic on {new.slot} (port {new.port})"
        # Bookkeeping once traffic moved, outside the switch's timing (which is nginx's
        # transaction: rename, reload, confirm); signals still wait.
        st = self._commit(st, new, live, done)
        self.phases.journal(Phase.DRAIN, new.release, done.old_workers)
        keep = self.config.deploy.keep_old if keep_old is None else keep_old
        drained = self._retire(st, live, done, keep)
        result = self._result(new.release, live.release if live else None,
                              changed=True, drained=drained)
        self._record("ok", new.release, live, result.timings, result.message)
        return result

    def _switch(self, st: State, new: Instance, live: Instance | None, *,
                keep_on_failure: bool) -> Switched:
        number, token = next_generation(st, self.prepared)
        try:
            return switch(self.config, st.make_live(new).routes(), number, token, st.token,
                          before_reload=lambda w: self.phases.journal(Phase.SWITCH,
                                                                      new.release, w),
                          prepared=self.prepared)
        except BaseException as exc:
            keep = keep_on_failure or isinstance(exc, ReloadUndoFailed)
            self._discard(st, new, live, exc, keep=keep)
            if isinstance(exc, NginxError) and not keep:
                raise progress.nginx_failed(exc, new, live) from None
            raise

    def _commit(self, st: State, new: Instance, live: Instance | None,
                done: Switched) -> State:
        # No live instance: a crash or `down` left the live release recorded without it.
        stale = st.live if st.live not in (None, new.release) else None
        previous = live.release if live else stale or st.previous
        st = replace(st.make_live(new), generation=done.generation, token=done.token,
                     previous=previous)
        store.save(self.config.state_dir, st)
        return st

    def _retire(self, st: State, live: Instance | None, done: Switched, keep: float) -> bool:
        if live is None:
            # No old slot, but old workers (a shared nginx's) still answer from the previous
            # upstream for a moment: "deployed" means every worker routes to the new slot.
            return not wait_workers_gone(done.old_workers, self.config.drain.timeout)
        timeout = self.config.drain.timeout
        # The journal already names the old workers (written with the switch).
        with self.phases.run(Phase.DRAIN, live.release, journaled=False) as step:
            outcome = drain(done.old_workers, live.port, timeout)
            step.detail = "old workers gone, no connections left" if outcome.complete else (
                f"timed out after {timeout:g}s with {outcome.workers_left} old workers and "
                f"{outcome.connections_left} connections left")
        with self.phases.run(Phase.STOP, live.release) as step:
            if keep > 0:  # out of the upstream and drained, but running: rollback is a flip
                st = reaper.keep_warm(st, live, keep)
                store.save(self.config.state_dir, st)
                step.detail = f"{live.version} on {live.slot} kept warm for {keep:g}s"
                return outcome.complete
            self.runner.stop(live, self.config.app.stop_timeout)
            store.save(self.config.state_dir, st.without(live.slot))
            step.detail = f"{live.version} on {live.slot}"
        return outcome.complete

    def _discard(self, st: State, new: Instance, live: Instance | None,
                 exc: BaseException, *, keep: bool = False) -> None:
        """A failed deploy: stop the new slot (unless it must stay up) and record why."""
        if not keep:
            self.runner.stop(new, self.config.app.stop_timeout)
            store.save(self.config.state_dir, st.without(new.slot))
        self._failed(new.release, live, exc)

    def _failed(self, release: Release, live: Instance | None, exc: BaseException) -> None:
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        with contextlib.suppress(BlueGreenError):
            self._record("failed", release, live, self.phases.timings(), why)

    def _result(self, release: Release, previous: Release | None, *, changed: bool,
                drained: bool = True, message: str = "") -> DeployResult:
        return DeployResult(
            changed=changed, app=self.config.app.name, version=release.version,
            slot=release.slot, port=release.port, previous=previous,
            timings=self.phases.timings(), action=self.action, drain_timed_out=not drained,
            message=message or f"{release.version} is live on {release.slot} "
                               f"(port {release.port})"
                               + (f"; redeployed: {self.why}" if self.why else ""),
        )

    def _record(self, outcome: str, release: Release, live: Instance | None,
                timings: Timings, message: str) -> None:
        with self.phases.run(Phase.RECORD, release, journaled=False) as step:
            store.append_history(self.config.state_dir, HistoryEvent(
                time=now_iso(), action=self.action, outcome=outcome, app=self.config.app.name,
                version=release.version, slot=release.slot, port=release.port,
                previous=live.release if live else None, user=store.current_user(),
                message=message + ("; capacity check skipped (--skip-capacity-check)"
                                   if self.skip_capacity_check else ""), timings=timings,
                config_hash=self.digest))
            step.detail = f"{self.action} {outcome}"
