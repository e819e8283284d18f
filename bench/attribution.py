"""Where the window's slow requests are: by phase, by the upstream and nginx worker that
answered, and by whether they came on a new client connection.

Every answered request that overlaps a window is placed in one phase: the one running when it
was sent (a request sent just before the window counts in the first phase).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from bench.contenders import Deploy
from bench.load import TIMEOUT, Record, percentile
from bench.measure import ModeResult

MS: Final = 1000.0
SLOW_PCT: Final = 99.0  # "slow": at or above the window's p99 of that contender and mode


@dataclass(frozen=True, slots=True)
class Placed:
    """A window request with what the report needs to attribute it."""

    record: Record
    deploy: int  # its deploy's place in the run (0-based)
    phase: str
    since: float  # seconds from the start of its phase to its sending (0 if sent before)
    after_exit: float  # seconds from the old workers' exit to its answer (negative: before)
    old_port: bool | None  # None: the contender does not change the upstream port
    old_worker: bool


def phase_of(deploy: Deploy, when: float) -> tuple[str, float]:
    """The phase running at `when` (inside the window) and when that phase began."""
    began = deploy.window[0]
    for name, ended in deploy.phases:
        if when < ended:
            return name, began
        began = ended
    return (deploy.phases[-1][0] if deploy.phases else "window"), began


def workers_gone(deploy: Deploy) -> float:
    """When nginx's pre-deploy workers were gone: bluegreen's drain ends then (and once the old
    port is quiet, one `ss` later); the others' windows end when the bench saw them exit."""
    return deploy.ended_at.get("drain", deploy.window[1])


def place(deploy: Deploy, record: Record, index: int = 0) -> Placed:
    old, new = deploy.ports
    old_port = None if old == new or not record.upstream else record.upstream == old
    phase, began = phase_of(deploy, max(record.sent, deploy.window[0]))
    return Placed(record, index, phase, max(0.0, record.sent - began),
                  record.end - workers_gone(deploy), old_port,
                  record.worker in deploy.old_workers)


def placed(mode: ModeResult) -> list[Placed]:
    """The answered requests overlapping each deploy's window (records are sorted by sent)."""
    sent = [r.sent for r in mode.records]
    found = []
    for index, deploy in enumerate(mode.deploys):
        start, end = deploy.window
        lo, hi = bisect.bisect_left(sent, start - TIMEOUT), bisect.bisect_right(sent, end)
        found += [place(deploy, r, index) for r in mode.records[lo:hi]
                  if not math.isnan(r.latency) and r.end >= start]
    return found


def durations(mode: ModeResult) -> dict[str, list[float]]:
    """How long each phase lasted, per deploy, in order of the phases (seconds)."""
    found: dict[str, list[float]] = {}
    for deploy in mode.deploys:
        began = deploy.window[0]
        for name, ended in deploy.phases or (("window", deploy.window[1]),):
            found.setdefault(name, []).append(ended - began)
            began = ended
    return found


def share(items: Sequence[Placed], test: Callable[[Placed], bool | None]) -> str:
    """The share of items for which test holds; "-" when it cannot say for any."""
    known = [v for v in (test(p) for p in items) if v is not None]
    return f"{sum(known) / len(known):.0%}" if known else "-"


def _ms(values: Sequence[float], pct: float, digits: int = 2) -> str:
    return "-" if not values else f"{percentile(values, pct) * MS:.{digits}f}"


def _app_share(items: Sequence[Placed]) -> str:
    """Median share of a request's latency that nginx spent waiting for the app."""
    ratios = [p.record.upstream_time / p.record.latency for p in items
              if not math.isnan(p.record.upstream_time) and p.record.latency > 0]
    return f"{min(1.0, percentile(ratios, 50)):.0%}" if ratios else "-"


def _origin(items: Sequence[Placed]) -> list[str]:
    return [share(items, lambda p: p.old_port), share(items, lambda p: p.old_worker),
            share(items, lambda p: p.record.conn_seq == 1 if p.record.conn_seq else None),
            str(sum(1 for p in items if p.record.tries > 1))]


ORIGIN: Final = ["old port", "old workers", "new connection", "nginx retried"]


def rows(modes: Sequence[ModeResult]) -> tuple[list[list[str]], list[list[str]]]:
    """Two tables, a row per contender, client mode and phase: all window requests, and the
    slowest of them (at or above the window's p99)."""
    every, slowest = [], []
    for mode in modes:
        items = placed(mode)
        threshold = percentile([p.record.latency for p in items], SLOW_PCT)
        slow = [p for p in items if p.record.latency >= threshold]
        for phase, lasted in durations(mode).items():
            head = [mode.contender, mode.mode, phase]
            here = [p for p in items if p.phase == phase]
            slow_here = [p for p in slow if p.phase == phase]
            every.append([*head, _ms(lasted, 50, 0), _share(here, items), *_latency(here),
                          _share(slow_here, slow), *_origin(here)])
            slowest.append([*head, str(len(slow_here)), _deploys(slow_here, mode),
                            _latency(slow_here)[0],
                            _ms([p.since for p in slow_here], 50, 0),
                            _ms([p.after_exit for p in slow_here], 50, 0), _app_share(slow_here),
                            *_origin(slow_here)])
    return every, slowest


def _deploys(items: Sequence[Placed], mode: ModeResult) -> str:
    """In how many of the deploys the items are: a few means stalls, not a cost every deploy
    pays."""
    return f"{len({p.deploy for p in items})} of {len(mode.deploys)}"


def _share(part: Sequence[Placed], whole: Sequence[Placed]) -> str:
    return f"{len(part) / len(whole):.0%}" if whole else "-"


def _latency(items: Sequence[Placed]) -> tuple[str, str]:
    values = [p.record.latency for p in items]
    return _ms(values, 50), _ms(values, 99)


HEADERS: Final = (
    ["contender", "client", "phase", "lasts, median ms", "share of window requests", "p50 ms",
     "p99 ms", "share of the slowest 1%", *ORIGIN],
    ["contender", "client", "phase", "slow requests", "in deploys", "their p50 ms",
     "sent, ms into the phase (median)", "answered, ms after the old workers exit (median)",
     "time in the app", *ORIGIN],
)
