"""Deadlines: a warm old slot is claimed until its `until`, then recovery stops it."""

from __future__ import annotations

from bluegreen_local.engine import reaper, reconcile
from bluegreen_local.model.types import Instance, ProcessHandle, Role, Slot
from bluegreen_local.store.state import State

LIVE = Instance(Slot.GREEN, 7002, "v2", 2.0, ProcessHandle(200, 2.0), Role.LIVE)
OLD = Instance(Slot.BLUE, 7001, "v1", 1.0, ProcessHandle(100, 1.0))


def _state(old: Instance) -> State:
    return State(generation=2, token="2-ab", live=LIVE.release, instances=(old, LIVE))


def test_kept_warm_until_the_deadline_then_unclaimed() -> None:
    st = reaper.keep_warm(_state(OLD), OLD, 300.0, now=1000.0)
    warm = st.instance(Slot.BLUE)
    assert warm is not None and (warm.role, warm.until) == (Role.WARM, 1300.0)
    assert reaper.warm(st, 1299.0) == warm
    assert reconcile.unclaimed(st, 1299.0) == []
    assert reaper.warm(st, 1300.0) is None
    assert reconcile.unclaimed(st, 1300.0) == [warm]
    assert reaper.expired(st, 1300.0) == [warm]


def test_any_role_with_a_passed_deadline_is_unclaimed() -> None:
    # A staged slot carries `until` too (auto_abort_after): the same machinery stops it.
    staged = OLD.with_role(Role.STAGED, until=50.0)
    st = _state(staged)
    assert reconcile.unclaimed(st, 49.0) == []
    assert reconcile.unclaimed(st, 50.0) == [staged]


def test_release_warm_leaves_it_unclaimed() -> None:
    st = reaper.keep_warm(_state(OLD), OLD, 300.0)
    released, old = reaper.release_warm(st)
    assert old is not None and old.slot is Slot.BLUE
    assert reconcile.unclaimed(released, 0.0) == [OLD]
    assert reaper.release_warm(released) == (released, None), "nothing warm: nothing changes"
