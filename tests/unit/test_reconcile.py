"""Recovery: state that missed a confirmed switch is corrected from what nginx serves."""

from __future__ import annotations

from pathlib import Path

import pytest

from bluegreen_local import config, nginx
from bluegreen_local.engine import reconcile
from bluegreen_local.model.types import Release, Slot, SlotProcess
from bluegreen_local.store.files import atomic_write
from bluegreen_local.store.state import State

BLUE = SlotProcess(Slot.BLUE, 7001, "v1", 100, 1.0, 1.0)
GREEN = SlotProcess(Slot.GREEN, 7002, "v2", 200, 2.0, 2.0)


def _setup(config_file: Path, served: str | None,
           monkeypatch: pytest.MonkeyPatch) -> tuple[config.Config, State]:
    cfg = config.load(config_file)
    cfg.nginx.upstream_file.parent.mkdir(parents=True)
    spec = nginx.upstream_spec(cfg, GREEN.release, "4-cafe")
    atomic_write(cfg.nginx.upstream_file, nginx.render(spec))
    monkeypatch.setattr(nginx, "served_generation", lambda *_: served)
    # The run died after nginx confirmed green but before it saved: state still says blue.
    st = State(generation=3, token="3-beef", live=BLUE.release, slots=(BLUE, GREEN))
    return cfg, st


def test_a_confirmed_switch_is_adopted(config_file: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    cfg, st = _setup(config_file, "4-cafe", monkeypatch)
    fixed = reconcile.adopt_switch(cfg, st)
    assert (fixed.live, fixed.token, fixed.generation) == (GREEN.release, "4-cafe", 4)
    assert fixed.previous == Release(Slot.BLUE, 7001, "v1")


def test_a_file_nginx_does_not_serve_is_not_adopted(config_file: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    cfg, st = _setup(config_file, "3-beef", monkeypatch)
    assert reconcile.adopt_switch(cfg, st) == st
