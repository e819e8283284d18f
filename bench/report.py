"""Figures from the measurements, and bench/RESULTS.md (tables, targets met or not)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from bench.contenders import Deploy
from bench.load import overlaps, percentile
from bench.measure import ModeResult, finite, median, spread

MS: Final = 1000.0
BLUEGREEN: Final = "bluegreen deploy"
NAIVE: Final = "naive switch"
CONTROL: Final = "reload only (control)"


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    measured: str
    met: bool


@dataclass
class Bench:
    """Everything one run measured, as the report needs it."""

    meta: dict[str, str]
    calibration: dict[str, float]
    rate: float
    modes: list[ModeResult]
    cold: dict[str, list[float]]
    imports: dict[str, float]
    multi: dict[str, object]

    def mode(self, contender: str, mode: str) -> ModeResult:
        return next(m for m in self.modes if m.contender == contender and m.mode == mode)

    def deploys(self, contender: str) -> list[Deploy]:
        return [d for m in self.modes if m.contender == contender for d in m.deploys]


# -- derived figures --------------------------------------------------------------------------


def phases(deploys: Sequence[Deploy]) -> dict[str, list[float]]:
    """Per-deploy figures of `bluegreen deploy`, in seconds."""
    rows: dict[str, list[float]] = {k: [] for k in (
        "start -> healthy", "switch", "drain", "stop", "total", "CLI process (wall)",
        "app readiness", "tool overhead", "readiness lag")}
    for d in deploys:
        t = d.timings
        rows["start -> healthy"].append(t["start"] + t["healthy"])
        for key in ("switch", "drain", "stop", "total"):
            rows[key].append(t[key])
        rows["CLI process (wall)"].append(d.ended - d.began)
        if d.ready_at is None or "start" not in d.ended_at or "health" not in d.ended_at:
            continue
        spawned = d.ended_at["start"] - t["start"]
        readiness = d.ready_at - spawned
        rows["app readiness"].append(readiness)
        rows["tool overhead"].append(t["total"] - readiness - t["drain"])
        rows["readiness lag"].append(d.ended_at["health"] - d.ready_at)
    return rows


def reload_confirm(bench: Bench, *, own: bool = False) -> list[float]:
    """The control's bare reload-and-confirm, confirmed on the shared socket or (own) on the
    new generation's own socket, bluegreen's way."""
    return finite([d.reload_confirm_own if own else d.reload_confirm
                   for d in bench.deploys(CONTROL)])


def naive_lag(bench: Bench) -> list[float]:
    return [d.window[0] - d.ready_at for d in bench.deploys(NAIVE) if d.ready_at is not None]


def multi_totals(bench: Bench, key: str) -> list[float]:
    runs = bench.multi.get(key, [])
    assert isinstance(runs, list)
    return [float(r["total"]) for r in runs]


def targets(bench: Bench) -> list[Target]:
    found = []
    bg_close, bg_keep = bench.mode(BLUEGREEN, "close"), bench.mode(BLUEGREEN, "keepalive")
    ctl_keep = bench.mode(CONTROL, "keepalive")
    naive_close = bench.mode(NAIVE, "close")
    found.append(Target(
        "0 failed requests, `Connection: close` clients, all deploys",
        f"{bg_close.failed} failed of {bg_close.requests:,} requests over "
        f"{len(bg_close.deploys)} deploys (naive switch: {naive_close.failed})",
        bg_close.failed == 0))
    found.append(Target(
        "keep-alive failures no higher than the reload-only control",
        f"{bg_keep.failed} over {len(bg_keep.deploys)} deploys vs {ctl_keep.failed} over "
        f"{len(ctl_keep.deploys)} bare reloads", bg_keep.failed <= ctl_keep.failed))
    rows = phases(bench.deploys(BLUEGREEN))
    overhead, lag = median(rows["tool overhead"]), median(rows["readiness lag"])
    found.append(Target("tool overhead median <= 150 ms", f"{overhead * MS:.0f} ms",
                        overhead <= 0.150))
    found.append(Target("readiness lag median <= 50 ms", f"{lag * MS:.0f} ms", lag <= 0.050))
    # The floor is the faster confirmation: bluegreen's own method, applied to a bare reload.
    switch, bare = median(rows["switch"]), median(reload_confirm(bench, own=True))
    shared = median(reload_confirm(bench))
    found.append(Target("switch <= 2x a bare reload-and-confirm",
                        f"{switch * MS:.0f} ms vs {bare * MS:.0f} ms = {switch / bare:.2f}x "
                        f"(confirmed on the shared socket: {shared * MS:.0f} ms)",
                        switch <= 2 * bare))
    for m in (bg_close, bg_keep):
        inside, steady = percentile(m.within, 99), percentile(m.steady, 99)
        found.append(Target(
            f"p99 inside switch windows <= 2x steady p99 ({m.mode})",
            f"{inside * MS:.1f} ms vs {steady * MS:.1f} ms = {inside / steady:.2f}x",
            inside <= 2 * steady))
    status = median(bench.cold["bluegreen status --json"])
    found.append(Target("`bluegreen status --json` cold start <= 150 ms",
                        f"{status * MS:.0f} ms", status <= 0.150))
    alone, crowded = median(multi_totals(bench, "alone")), median(multi_totals(bench, "crowded"))
    found.append(Target(f"{bench.multi.get('apps')} apps: one app's deploy < 1.5x single-app",
                        f"{crowded:.2f} s vs {alone:.2f} s = {crowded / alone:.2f}x",
                        crowded < 1.5 * alone))
    return found


# -- markdown ---------------------------------------------------------------------------------


def fmt_ms(values: list[float]) -> tuple[str, str]:
    if not values:
        return "-", "-"
    low, high = spread(values)
    return f"{median(values) * MS:.0f}", f"{low * MS:.0f}-{high * MS:.0f}"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    align = ["---" if i == 0 else "---:" for i in range(len(header))]
    return ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |",
            *("| " + " | ".join(row) + " |" for row in rows)]


def failures_table(bench: Bench) -> list[str]:
    rows = []
    for m in bench.modes:
        kinds = ", ".join(f"{k}: {v}" for k, v in m.failures.most_common()) or "-"
        errs = ", ".join(f"{k} {v}" for k, v in m.socket_errors.items() if v) or "none"
        rows.append([m.contender, m.mode, str(len(m.deploys)), f"{m.requests:,}",
                     f"{m.rate:,.0f}", f"**{m.failed}**", kinds, errs, str(m.failures_outside)])
    return table(["contender", "client", "deploys", "requests", "req/s", "failed",
                  "failed by kind", "wrk socket errors", "failed outside deploys"], rows)


def phases_table(bench: Bench) -> list[str]:
    rows = []
    for name, values in phases(bench.deploys(BLUEGREEN)).items():
        med, rng = fmt_ms(values)
        rows.append([name, med, rng, str(len(values))])
    for own, label in ((True, "own socket"), (False, "shared socket")):
        values = reload_confirm(bench, own=own)
        med, rng = fmt_ms(values)
        rows.append([f"bare reload-and-confirm (control), on its {label}", med, rng,
                     str(len(values))])
    med, rng = fmt_ms(naive_lag(bench))
    rows.append(["naive switch: readiness lag (curl every 100 ms)", med, rng,
                 str(len(naive_lag(bench)))])
    naive_wall = [d.ended - d.began for d in bench.deploys(NAIVE)]
    med, rng = fmt_ms(naive_wall)
    rows.append(["naive switch: whole script (wall)", med, rng, str(len(naive_wall))])
    return table(["per deploy", "median ms", "p10-p90 ms", "n"], rows)


def latency_table(bench: Bench) -> list[str]:
    rows = []
    for m in bench.modes:
        s50, s99 = percentile(m.steady, 50), percentile(m.steady, 99)
        w50, w99 = percentile(m.within, 50), percentile(m.within, 99)
        ratio = w99 / s99 if s99 and not math.isnan(w99) else math.nan
        rows.append([m.contender, m.mode, f"{s50 * MS:.2f}", f"{s99 * MS:.2f}",
                     f"{w50 * MS:.2f}", f"{w99 * MS:.2f}", f"{ratio:.2f}x",
                     f"{len(m.steady):,}", f"{len(m.within):,}"])
    return table(["contender", "client", "steady p50", "steady p99", "window p50", "window p99",
                  "p99 ratio", "steady n", "window n"], rows)


# Each phase of a switch window, by the wall-clock ends bluegreen reports (`ended_at`).
PHASE_BOUNDS: Final = (("switch", "health", "switch"), ("drain", "switch", "drain"),
                       ("stop", "drain", "stop"))


def phase_latency_table(bench: Bench) -> list[str]:
    """Where in the window the slow requests are: p50/p99 of the requests overlapping each
    phase of `bluegreen deploy`, next to the steady state."""
    rows = []
    for m in bench.modes:
        if m.contender != BLUEGREEN:
            continue
        row = [m.mode, f"{percentile(m.steady, 99) * MS:.2f}"]
        for _, start, end in PHASE_BOUNDS:
            windows = [(d.ended_at[start], d.ended_at[end]) for d in m.deploys
                       if start in d.ended_at and end in d.ended_at]
            inside = [r.latency for r in m.records
                      if not math.isnan(r.latency) and overlaps(r, windows)]
            row += [f"{percentile(inside, 50) * MS:.2f}", f"{percentile(inside, 99) * MS:.2f}",
                    f"{len(inside):,}"]
        rows.append(row)
    header = ["client", "steady p99"]
    for name, _, _ in PHASE_BOUNDS:
        header += [f"{name} p50", f"{name} p99", f"{name} n"]
    return table(header, rows)


def cold_table(bench: Bench) -> list[str]:
    rows = []
    for label, values in bench.cold.items():
        low, high = spread(values)
        rows.append([f"`{label}`", f"{median(values) * MS:.0f}", f"{min(values) * MS:.0f}",
                     f"{low * MS:.0f}-{high * MS:.0f}", str(len(values))])
    return table(["command", "median ms", "min ms", "p10-p90 ms", "runs"], rows)


def imports_table(bench: Bench) -> list[str]:
    total = sum(bench.imports.values()) or 1.0
    rows = [[name, f"{ms:.0f}", f"{ms / total:.0%}"] for name, ms in bench.imports.items()
            if ms >= 1.0]
    return table(["modules imported by `status --json`", "self ms (importtime)", "share"], rows)


def multi_table(bench: Bench) -> list[str]:
    rows = []
    for key, label in (("alone", "1 app"), ("crowded", f"{bench.multi.get('apps')} apps")):
        totals = multi_totals(bench, key)
        runs = bench.multi.get(key, [])
        assert isinstance(runs, list)
        switch = [float(r["switch"]) for r in runs]
        wall = [float(r["wall"]) for r in runs]
        rows.append([label, *fmt_ms(totals), fmt_ms(switch)[0], fmt_ms(wall)[0], str(len(totals))])
    return table(["nginx serves", "deploy total median ms", "p10-p90 ms", "switch median ms",
                  "CLI wall median ms", "deploys"], rows)


def markdown(bench: Bench, notes: str) -> str:
    meta = bench.meta
    found = targets(bench)
    lines = [
        "# Benchmark results", "",
        f"`make bench` on {meta['when']}: {meta['machine']}; {meta['software']}. "
        f"Whole run {meta['duration']}. Load average before / after: {meta['load']}.", "",
        "Figures are medians with the 10th-90th percentile spread. The plot: "
        "[results.png](results.png). How it is measured: see *Method* below.", "",
        "## Targets", "",
        *table(["target", "measured", "status"],
               [[t.name, t.measured, "met" if t.met else "**not met**"] for t in found]), "",
        "## Failed requests", "",
        f"wrk at a fixed {bench.rate:,.0f} requests/s (the machine sustains "
        f"{bench.calibration['close']:,.0f}/s with `Connection: close` and "
        f"{bench.calibration['keepalive']:,.0f}/s with keep-alive through the same nginx and "
        "app), 32 connections. A failed request is a non-2xx answer, a request that never got "
        "an answer (connection closed, reset, or refused), or one slower than 5 s.", "",
        *failures_table(bench), "",
        "## Deploy phases (`bluegreen deploy`, both client modes)", "",
        *phases_table(bench), "",
        "## Request latency (ms), steady state vs inside switch windows", "",
        *latency_table(bench), "",
        "By phase of the window (`bluegreen deploy`; ms; a request counts in every phase its "
        "lifetime overlaps):", "",
        *phase_latency_table(bench), "",
        "## CLI cold start", "",
        *cold_table(bench), "",
        *imports_table(bench), "",
        "## One app among many on the same nginx", "",
        f"The shared nginx includes {bench.multi.get('configs')} config files with all apps "
        "deployed (an upstream file and a site per app); no load.", "",
        *multi_table(bench), "",
        notes,
    ]
    return "\n".join(lines) + "\n"
