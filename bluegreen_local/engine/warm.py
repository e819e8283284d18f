"""Rollback to the warm old slot: a flip, not a redeploy (no start, no boot, one switch)."""

from __future__ import annotations

from bluegreen_local.engine import current, progress, reaper
from bluegreen_local.engine.deployment import Deployment
from bluegreen_local.model.results import DeployResult
from bluegreen_local.model.types import Phase
from bluegreen_local.nginx import staged
from bluegreen_local.store import journal


class WarmRollback(Deployment):
    """Health-check the warm old slot, switch back to it, drain and stop what was live."""

    def flip(self) -> DeployResult:
        with self.phases:
            recovery = self._recover()
            st, old = recovery.state, reaper.warm(recovery.state)
            if old is None:  # its deadline passed while we waited for the lock
                raise progress.nothing_warm()
            self.phases.version = old.version
            try:
                try:  # a signal here changes nothing; from the switch on it waits (FINISH)
                    with self.phases.run(Phase.HEALTH, old.release) as step:
                        if not current.healthy(self.config, self.runner, old):
                            raise progress.warm_unhealthy(old)
                        step.detail = f"warm {old.version} answers its health check"
                except KeyboardInterrupt:
                    raise progress.interrupted_before_flip(old, st.live_instance) from None
                # The bad version is stopped after the drain, whatever keep_old says.
                result = self._switch_and_finish(st, old, st.live_instance,
                                                 keep_on_failure=True, keep_old=0.0)
            finally:
                journal.clear(self.config.state_dir)
                staged.discard(self.config)
        return self._finished(result)
