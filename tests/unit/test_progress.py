"""The deploy's errors carry their parts (failed, unchanged, next) beside the same message."""

from __future__ import annotations

from pathlib import Path

from bluegreen_local.engine import progress
from bluegreen_local.model.errors import BlueGreenError, NginxError
from bluegreen_local.model.results import DeployResult, Timings
from bluegreen_local.model.types import Instance, ProcessHandle, Role, Slot

OLD = Instance(Slot.BLUE, 7001, "v1", 1.0, ProcessHandle(10, 1.0), Role.LIVE)
NEW = Instance(Slot.GREEN, 7002, "v2", 2.0, ProcessHandle(20, 2.0))


def parts(exc: BlueGreenError) -> tuple[str | None, str | None, str | None]:
    return exc.failed, exc.unchanged, exc.next_step


def test_every_deploy_error_has_all_three_parts_in_its_message() -> None:
    result = DeployResult(changed=True, app="web", version="v2", slot=Slot.GREEN, port=7002,
                          previous=None, timings=Timings(total=1.0), action="deploy")
    errors = [
        progress.never_healthy(NEW, OLD, "GET /health returned 503", Path("/s/logs/green.log"),
                               "boom\nbang"),
        progress.nginx_failed(NginxError("nginx refused the configuration"), NEW, OLD),
        progress.interrupted_before_switch("v2", Slot.GREEN, OLD),
        progress.interrupted_after_switch("deploy", result),
        progress.nothing_to_bring_up(),
    ]
    for exc in errors:
        failed, unchanged, next_step = parts(exc)
        assert failed and unchanged and next_step, exc
        assert failed in str(exc) and unchanged in str(exc), exc


def test_the_health_error_names_what_stays_and_shows_the_log() -> None:
    exc = progress.never_healthy(NEW, OLD, "timed out", Path("/s/logs/green.log"), "boom")
    assert exc.unchanged == "v2 was stopped; traffic stays on blue (v1, port 7001)"
    assert str(exc).endswith("Last lines of /s/logs/green.log:\n    boom")
    assert exc.next_step == "fix the app (see /s/logs/green.log) and deploy again"
