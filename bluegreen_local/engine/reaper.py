"""Deadlines on instances: a warm old slot (and, later, a staged one) carries `until`, and once
that time has passed nothing claims it any more.

Recovery (which every command that takes the lock runs first) stops unclaimed instances, so an
expired deadline is enforced by the next command; `bluegreen reap` is that recovery alone, for a
cron line or a systemd timer. This module only decides; the stopping is recovery's.
"""

from __future__ import annotations

import time

from bluegreen_local.model.types import Instance, Role
from bluegreen_local.store.state import State


def warm(st: State, now: float | None = None) -> Instance | None:
    """The old version still kept running for an instant rollback, if its deadline holds."""
    at = time.time() if now is None else now
    return next((i for i in st.instances if i.role is Role.WARM and i.claimed(at)), None)


def expired(st: State, now: float | None = None) -> list[Instance]:
    """Every instance whose `until` deadline has passed, whatever its role."""
    at = time.time() if now is None else now
    return [i for i in st.instances if i.until is not None and i.until <= at]


def keep_warm(st: State, old: Instance, seconds: float, now: float | None = None) -> State:
    """`old`, just drained out of the live upstream, stays running for `seconds`."""
    at = time.time() if now is None else now
    return st.with_instance(old.with_role(Role.WARM, until=at + seconds))


def release_warm(st: State) -> tuple[State, Instance | None]:
    """Drop the warm role (finalize): recovery then stops the instance as unclaimed."""
    inst = warm(st)
    if inst is None:
        return st, None
    return st.with_instance(inst.with_role(None)), inst
