"""The sentences a deploy reports about traffic and recovery, and the errors it raises with
their parts (what failed, what was left unchanged, what to do) for the JSON error document."""

from __future__ import annotations

from pathlib import Path

from bluegreen_local.engine.reconcile import Recovery
from bluegreen_local.model.errors import HealthCheckError, Interrupted, NginxError, UsageError
from bluegreen_local.model.results import DeployResult
from bluegreen_local.model.types import Instance, Slot


def serving_text(live: Instance | None) -> str:
    if live is None:
        return "nothing was serving before and nothing serves now"
    return f"traffic stays on {live.slot} ({live.version}, port {live.port})"


def recovery_text(recovery: Recovery) -> str:
    killed = recovery.interrupted
    head = [f"a {killed.action} of {killed.version} was interrupted in phase {killed.phase}"] \
        if killed else []
    return "; ".join([*head, *recovery.actions]) or "nothing left behind"


def never_healthy(new: Instance, live: Instance | None, reason: str, log: Path,
                  tail: str) -> HealthCheckError:
    failed = f"{new.slot} (port {new.port}) never became healthy: {reason}"
    unchanged = f"{new.version} was stopped; {serving_text(live)}"
    lines = "\n".join(f"    {line}" for line in tail.splitlines())
    return HealthCheckError(
        f"{failed}. {unchanged}. Fix the app and deploy again.\nLast lines of {log}:\n{lines}",
        failed=failed, unchanged=unchanged, next_step=f"fix the app (see {log}) and deploy again")


def nginx_failed(exc: NginxError, new: Instance, live: Instance | None) -> NginxError:
    unchanged = f"{new.version} on {new.slot} was stopped; {serving_text(live)}"
    return NginxError(f"{exc}\n{unchanged}. Fix the nginx problem and deploy again.",
                      failed=exc.failed or str(exc), unchanged=unchanged,
                      next_step="fix the nginx problem and deploy again")


def interrupted_before_switch(version: str, target: Slot, live: Instance | None) -> Interrupted:
    unchanged = f"{version} on {target} was stopped; {serving_text(live)}"
    return Interrupted(f"interrupted before the switch: {unchanged}",
                       failed="interrupted before the switch", unchanged=unchanged,
                       next_step=f"deploy {version} again when ready")


def interrupted_after_switch(action: str, result: DeployResult) -> Interrupted:
    done = f"{result.version} is live on {result.slot} (port {result.port})"
    return Interrupted(f"interrupted: the {action} was finished first; {done}",
                       failed="interrupted",
                       unchanged=f"the {action} was finished first; {done}",
                       next_step="nothing: check `bluegreen status` if in doubt")


def nothing_to_bring_up() -> UsageError:
    return UsageError("nothing to bring up: no version has been deployed yet. Nothing was "
                      "changed. Run `bluegreen deploy VERSION` first.",
                      failed="nothing to bring up: no version has been deployed yet",
                      unchanged="Nothing was changed",
                      next_step="run `bluegreen deploy VERSION` first")


def nothing_warm() -> UsageError:
    return UsageError("nothing is warm: no old version is kept running ([deploy] keep_old, or "
                      "its deadline passed). Nothing was changed. `bluegreen rollback` "
                      "redeploys the previous version instead.",
                      failed="nothing is warm: no old version is kept running",
                      unchanged="Nothing was changed",
                      next_step="`bluegreen rollback` redeploys the previous version")


def warm_unhealthy(old: Instance) -> HealthCheckError:
    what = f"the warm {old.version} on {old.slot} (port {old.port}) fails its health check"
    return HealthCheckError(f"{what}; traffic was not moved. Run `bluegreen finalize` to stop "
                            "it, then `bluegreen rollback` redeploys it.",
                            failed=what, unchanged="traffic was not moved",
                            next_step="`bluegreen finalize`, then `bluegreen rollback`")


def interrupted_before_flip(old: Instance, live: Instance | None) -> Interrupted:
    unchanged = f"the warm {old.version} on {old.slot} still runs; {serving_text(live)}"
    return Interrupted(f"interrupted before the switch: {unchanged}",
                       failed="interrupted before the switch", unchanged=unchanged,
                       next_step="run `bluegreen rollback` again when ready")
