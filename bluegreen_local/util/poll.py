"""poll_until: check a condition until it holds or a deadline passes (the one wait loop)."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
U = TypeVar("U")

Pace = Callable[[float], float]
"""A schedule of its own: the seconds waited so far -> the pause before the next check."""


def poll_until(
    check: Callable[[], T | None],
    *,
    timeout: float,
    interval: float | Pace = 0.01,
    backoff: float = 1.0,
    max_interval: float = math.inf,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    what: str = "",
) -> T | None:
    """The first truthy value `check` returns, or None once `timeout` seconds have passed.

    `check` runs at once, and again after each pause: `interval` seconds, times `backoff` after
    every pause, up to `max_interval`; or, when `interval` is a Pace, what it answers. No pause
    runs past the deadline: the last is cut short, so a final check falls on it. The deadline
    is judged when a check returns, so a slow check that straddles it is the last one.
    """
    started = clock()
    deadline = started + timeout
    pace = interval if callable(interval) else _growing(interval, backoff, max_interval)
    checks = 0
    while True:
        value = check()
        checks += 1
        now = clock()
        if value or now >= deadline:
            break
        sleep(min(pace(now - started), deadline - now))
    if what and checks > 1:  # a wait that was over at once is not worth a line
        log.debug("waited for %s: %s after %.3fs and %d checks", what,
                  "done" if value else "timed out", now - started, checks)
    return value or None


def _growing(first: float, factor: float, cap: float) -> Pace:
    """A pace that ignores the time waited: first, then each pause `factor` times the last."""
    pauses = _series(first, factor, cap)
    return lambda _waited: next(pauses)


def _series(first: float, factor: float, cap: float) -> Iterator[float]:
    pause = min(first, cap)
    while True:
        yield pause
        pause = min(cap, pause * factor)


def wait_all_gone(items: Iterable[U], still_there: Callable[[U], bool], *, timeout: float,
                  interval: float, backoff: float = 1.0, max_interval: float = math.inf,
                  what: str = "") -> list[U]:
    """Wait until `still_there` is false for every item (each is asked again only while it
    is); return those still there at the timeout."""
    left = list(items)

    def all_gone() -> bool:
        left[:] = [item for item in left if still_there(item)]
        return not left

    poll_until(all_gone, timeout=timeout, interval=interval, backoff=backoff,
               max_interval=max_interval, what=what)
    return left
