"""Recovery: state that missed a confirmed switch is corrected from what nginx serves."""

from __future__ import annotations

from pathlib import Path

import pytest

from bluegreen_local import config, nginx
from bluegreen_local.engine import reconcile
from bluegreen_local.model.types import Instance, ProcessHandle, Release, Role, Slot, live_routes
from bluegreen_local.store.files import atomic_write
from bluegreen_local.store.state import State

BLUE = Instance(Slot.BLUE, 7001, "v1", 1.0, ProcessHandle(100, 1.0), Role.LIVE)
GREEN = Instance(Slot.GREEN, 7002, "v2", 2.0, ProcessHandle(200, 2.0))


def _setup(config_file: Path, served: str | None,
           monkeypatch: pytest.MonkeyPatch) -> tuple[config.Config, State]:
    cfg = config.load(config_file)
    cfg.nginx.upstream_file.parent.mkdir(parents=True)
    spec = nginx.upstream_spec(cfg, live_routes(GREEN.release), "4-cafe")
    atomic_write(cfg.nginx.upstream_file, nginx.render(spec))
    monkeypatch.setattr(nginx, "served_generation", lambda *_: served)
    # The run died after nginx confirmed green but before it saved: state still says blue.
    st = State(generation=3, token="3-beef", live=BLUE.release, instances=(BLUE, GREEN))
    return cfg, st


def test_a_confirmed_switch_is_adopted(config_file: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    cfg, st = _setup(config_file, "4-cafe", monkeypatch)
    fixed = reconcile.adopt_switch(cfg, st)
    assert (fixed.live, fixed.token, fixed.generation) == (GREEN.release, "4-cafe", 4)
    assert fixed.previous == Release(Slot.BLUE, 7001, "v1")
    assert fixed.live_instance == GREEN.with_role(Role.LIVE)
    assert fixed.instance(Slot.BLUE) == BLUE.with_role(None), "the old live slot is unclaimed"
    assert reconcile.unclaimed(fixed, 0.0) == [BLUE.with_role(None)]


def test_a_file_nginx_does_not_serve_is_not_adopted(config_file: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    cfg, st = _setup(config_file, "3-beef", monkeypatch)
    assert reconcile.adopt_switch(cfg, st) == st


def test_recovery_stops_only_what_no_role_claims() -> None:
    staged = GREEN.with_role(Role.STAGED)
    st = State(generation=1, token="1-a", live=BLUE.release, instances=(BLUE, staged))
    assert reconcile.unclaimed(st, 0.0) == []
    warm = GREEN.with_role(Role.WARM, until=50.0)
    st = State(generation=1, token="1-a", live=BLUE.release, instances=(BLUE, warm))
    assert reconcile.unclaimed(st, 49.0) == []
    assert reconcile.unclaimed(st, 50.0) == [warm], "an expired warm slot is stopped"
    # A live role that state's live release no longer names (a stale record) is not kept.
    stale = State(generation=1, token="1-a", live=GREEN.release, instances=(BLUE,))
    assert reconcile.unclaimed(stale, 0.0) == [BLUE]
