"""The issue's targets as pure verdicts: figures of one run in, a met / not met line out.

Each comparison is made inside one run, against the control measured minutes apart on the
same nginx, so a slow moment of the machine moves both sides of a ratio.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from bench.load import percentile
from bench.stats import rate

MS: Final = 1000.0
SWITCH_FACTOR: Final = 1.5  # switch <= 1.5x a bare reload-and-confirm
WINDOW_FACTOR: Final = 1.2  # window p99 <= 1.2x the control's window p99
COLD_LIMIT: Final = 0.150  # `status --json` cold start median, seconds
OVERHEAD_LIMIT: Final = 0.150
LAG_LIMIT: Final = 0.050
CROWD_FACTOR: Final = 1.5


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    measured: str
    met: bool


def median(values: Sequence[float]) -> float:
    return percentile(values, 50)


def switch_target(switch: float, floors: Mapping[str, float]) -> Target:
    """The switch's median against the fastest of the control's reload-and-confirm medians
    (each confirmation method and client), so no method of ours flatters the ratio."""
    name, floor = min(floors.items(), key=lambda item: item[1])
    others = ", ".join(f"{label}: {value * MS:.0f} ms" for label, value in floors.items()
                       if label != name)
    ratio = switch / floor if floor > 0 else math.inf
    return Target(f"switch <= {SWITCH_FACTOR:g}x a bare reload-and-confirm",
                  f"{switch * MS:.0f} ms vs {floor * MS:.0f} ms ({name}) = {ratio:.2f}x"
                  + (f" (other confirmations: {others})" if others else ""),
                  switch <= SWITCH_FACTOR * floor)


def window_target(mode: str, p99: float, control_p99: float) -> Target:
    """Window p99 against the control's window p99 in the same client mode: a deploy contains
    a reload, so the reload's own disturbance is the fair yardstick, not steady state."""
    ratio = p99 / control_p99 if control_p99 > 0 else math.nan
    return Target(f"window p99 <= {WINDOW_FACTOR:g}x the control's window p99 ({mode})",
                  f"{p99 * MS:.1f} ms vs {control_p99 * MS:.1f} ms = {ratio:.2f}x",
                  not math.isnan(ratio) and p99 <= WINDOW_FACTOR * control_p99)


def keepalive_failures_target(failed: int, deploys: int, control_failed: int,
                              reloads: int) -> Target:
    """Failures per deploy against the control's per reload, each with its 95% Poisson
    interval: missed only when ours lies wholly above the control's (the noise cannot explain
    the difference); an interval wholly below is better than the control, so met."""
    ours, theirs = rate(failed, deploys), rate(control_failed, reloads)
    return Target("keep-alive failures per deploy within the control's per reload and its noise",
                  f"{failed} over {deploys} deploys = {ours} per deploy vs {control_failed} over "
                  f"{reloads} bare reloads = {theirs} (95% Poisson intervals)",
                  ours.low <= theirs.high)


def paired_ratio(values: Sequence[float], baseline: Sequence[float]) -> float:
    """Median of the run-by-run ratios of two interleaved series (run i of each shares the
    machine's moment); nan without pairs."""
    ratios = [v / b for v, b in zip(values, baseline, strict=False) if b > 0]
    return median(ratios) if ratios else math.nan


def cold_target(status: Sequence[float], interpreter: Sequence[float]) -> Target:
    """`status --json` cold start, shown beside `python -c pass` timed in the same loop."""
    mid = median(status)
    return Target(f"`bluegreen status --json` cold start <= {COLD_LIMIT * MS:.0f} ms",
                  f"{mid * MS:.0f} ms median; `python -c pass` {median(interpreter) * MS:.0f} ms"
                  f" in the same loop; ratio {paired_ratio(status, interpreter):.2f}x",
                  mid <= COLD_LIMIT)


def close_failures_target(failed: int, requests: int, deploys: int, naive: int) -> Target:
    return Target("0 failed requests, `Connection: close` clients, all deploys",
                  f"{failed} failed of {requests:,} requests over {deploys} deploys "
                  f"(naive switch: {naive})", failed == 0)


def limit_target(name: str, value: float, limit: float) -> Target:
    """A median in seconds against a limit in seconds, both shown in ms."""
    return Target(f"{name} median <= {limit * MS:.0f} ms", f"{value * MS:.0f} ms", value <= limit)


def crowd_target(apps: object, crowded: float, alone: float) -> Target:
    return Target(f"{apps} apps: one app's deploy < {CROWD_FACTOR:g}x single-app",
                  f"{crowded:.2f} s vs {alone:.2f} s = {crowded / alone:.2f}x",
                  crowded < CROWD_FACTOR * alone)
