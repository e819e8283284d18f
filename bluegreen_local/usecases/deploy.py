"""Use cases that move traffic: deploy, rollback, up, recover (each takes the lock)."""

from __future__ import annotations

from bluegreen_local import store
from bluegreen_local.config.fields import check_version
from bluegreen_local.config.model import Config
from bluegreen_local.engine import reaper, reaperd, signals
from bluegreen_local.engine.deployment import Deployment
from bluegreen_local.engine.phases import Reporter, quiet
from bluegreen_local.engine.reconcile import Recovery, recover
from bluegreen_local.engine.warm import WarmRollback
from bluegreen_local.model.errors import UsageError
from bluegreen_local.model.results import DeployResult
from bluegreen_local.runners import make_runner


def deploy(config: Config, version: str, *, force: bool = False, wait_lock: float = 0.0,
           report: Reporter = quiet, skip_capacity_check: bool = False) -> DeployResult:
    """Start VERSION on the idle slot and move traffic to it once healthy."""
    check_version(version)
    with store.locked(config.state_dir, wait=wait_lock):
        deployment = Deployment(config, report, "deploy")
        deployment.skip_capacity_check = skip_capacity_check
        result = deployment.run(version, force=force)
    reaperd.spawn(config)  # a warm old slot stops at its deadline even if no CLI runs again
    return result


def rollback(config: Config, *, wait_lock: float = 0.0, report: Reporter = quiet) -> DeployResult:
    """Flip back to the warm old slot when one runs ([deploy] keep_old), else deploy the
    previous version again, through the same path as a deploy (which, with keep_old, leaves
    the version rolled back from warm: the reaper is started for it too)."""
    with store.locked(config.state_dir, wait=wait_lock):
        current = store.load(config.state_dir)
        if reaper.warm(current) is not None:
            return WarmRollback(config, report, "rollback").flip()
        if current.previous is None:
            raise UsageError("nothing to roll back to: no previous version is recorded. "
                             "Nothing was changed; deploy a version by name instead.")
        result = Deployment(config, report, "rollback").run(current.previous.version,
                                                             force=True)
    reaperd.spawn(config)
    return result


def up(config: Config, *, wait_lock: float = 0.0, report: Reporter = quiet) -> DeployResult:
    """Make sure the live version runs, is healthy and is what nginx serves (for boot)."""
    with store.locked(config.state_dir, wait=wait_lock):
        return Deployment(config, report, "up").up()


def recover_now(config: Config, *, wait_lock: float = 0.0) -> Recovery:
    """Finish or undo whatever an interrupted run left, without deploying anything."""
    with store.locked(config.state_dir, wait=wait_lock), signals.interruptible():
        return recover(config, make_runner(config))
