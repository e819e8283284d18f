"""Figures from the measurements, and bench/RESULTS.md (tables, targets met or not)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from bench import attribution
from bench import targets as verdict
from bench.contenders import PROBE_CLIENTS, Deploy
from bench.load import percentile
from bench.measure import INTERPRETER, ModeResult, finite, median, spread
from bench.targets import Target

MS: Final = 1000.0
BLUEGREEN: Final = "bluegreen deploy"
NAIVE: Final = "naive switch"
CONTROL: Final = "reload only (control)"
STATUS: Final = "bluegreen status --json"


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


def reload_confirm(bench: Bench, *, own: bool = False, client: str = "") -> list[float]:
    """The control's bare reload-and-confirm, confirmed on the shared socket or (own) on the
    new generation's own socket, bluegreen's way; only the polls of `client` when given."""
    return finite([d.reload_confirm_own if own else d.reload_confirm
                   for d in bench.deploys(CONTROL) if not client or d.probe_client == client])


def confirm_floors(bench: Bench) -> dict[str, list[float]]:
    """Each way the control confirmed its reloads: socket (own, shared) by poll client."""
    found = {}
    for own, where in ((True, "own socket"), (False, "shared socket")):
        for client in PROBE_CLIENTS:
            values = reload_confirm(bench, own=own, client=client)
            if values:
                found[f"{where}, {client}"] = values
    return found


def naive_lag(bench: Bench) -> list[float]:
    return [d.window[0] - d.ready_at for d in bench.deploys(NAIVE) if d.ready_at is not None]


def multi_totals(bench: Bench, key: str) -> list[float]:
    runs = bench.multi.get(key, [])
    assert isinstance(runs, list)
    return [float(r["total"]) for r in runs]


def window_p99(mode: ModeResult) -> float:
    return percentile(mode.within, 99)


def targets(bench: Bench) -> list[Target]:
    bg_close, bg_keep = bench.mode(BLUEGREEN, "close"), bench.mode(BLUEGREEN, "keepalive")
    ctl_keep = bench.mode(CONTROL, "keepalive")
    rows = phases(bench.deploys(BLUEGREEN))
    floors = {name: median(values) for name, values in confirm_floors(bench).items()}
    alone, crowded = median(multi_totals(bench, "alone")), median(multi_totals(bench, "crowded"))
    return [
        verdict.close_failures_target(bg_close.failed, bg_close.requests,
                                      len(bg_close.deploys), bench.mode(NAIVE, "close").failed),
        verdict.keepalive_failures_target(bg_keep.failed, len(bg_keep.deploys), ctl_keep.failed,
                                          len(ctl_keep.deploys)),
        verdict.limit_target("tool overhead", median(rows["tool overhead"]),
                             verdict.OVERHEAD_LIMIT),
        verdict.limit_target("readiness lag", median(rows["readiness lag"]), verdict.LAG_LIMIT),
        verdict.switch_target(median(rows["switch"]), floors),
        *(verdict.window_target(m.mode, window_p99(m), window_p99(bench.mode(CONTROL, m.mode)))
          for m in (bg_close, bg_keep)),
        verdict.cold_target(bench.cold[STATUS], bench.cold.get(INTERPRETER, [])),
        verdict.crowd_target(bench.multi.get("apps"), crowded, alone),
    ]


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
    for label, values in confirm_floors(bench).items():
        med, rng = fmt_ms(values)
        rows.append([f"bare reload-and-confirm (control): {label}", med, rng, str(len(values))])
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
        w50, w99 = percentile(m.within, 50), window_p99(m)
        control = window_p99(bench.mode(CONTROL, m.mode))
        ratio = w99 / control if control and not math.isnan(w99) else math.nan
        rows.append([m.contender, m.mode, f"{s50 * MS:.2f}", f"{s99 * MS:.2f}",
                     f"{w50 * MS:.2f}", f"{w99 * MS:.2f}", f"{ratio:.2f}x",
                     f"{len(m.steady):,}", f"{len(m.within):,}"])
    return table(["contender", "client", "steady p50", "steady p99", "window p50", "window p99",
                  "window p99 / control's", "steady n", "window n"], rows)


def attribution_tables(bench: Bench) -> list[str]:
    every, slowest = attribution.rows(bench.modes)
    return [*table(attribution.HEADERS[0], every), "",
            "The slowest 1% of each contender's window requests (at or above its window p99), "
            "by phase; *time in the app* is the median share of their latency that nginx spent "
            "waiting for the app's response head (`$upstream_header_time`, 1 ms resolution):", "",
            *table(attribution.HEADERS[1], slowest)]


def cold_table(bench: Bench) -> list[str]:
    rows = []
    interpreter = bench.cold.get(INTERPRETER, [])
    for label, values in bench.cold.items():
        low, high = spread(values)
        rows.append([f"`{label}`", f"{median(values) * MS:.0f}", f"{min(values) * MS:.0f}",
                     f"{low * MS:.0f}-{high * MS:.0f}",
                     f"{verdict.paired_ratio(values, interpreter):.2f}x", str(len(values))])
    return table(["command", "median ms", "min ms", "p10-p90 ms",
                  f"x `{INTERPRETER}` (median of run-by-run ratios)", "runs"], rows)


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
        "### Where the window's time goes", "",
        "Each window request counted once, in the phase running when it was sent. *old port* "
        "and *old workers*: share answered by the upstream port, and by the nginx workers, of "
        "before the deploy; *new connection*: share that were the first request on their client "
        "connection (all of them with `Connection: close`); *nginx retried*: requests nginx "
        "sent to a second upstream.", "",
        *attribution_tables(bench), "",
        "## CLI cold start", "",
        f"The commands run interleaved with `{INTERPRETER}` (the interpreter's own start-up), "
        "in a rotating order, after two warm-up rounds.", "",
        *cold_table(bench), "",
        *imports_table(bench), "",
        "## One app among many on the same nginx", "",
        f"The shared nginx includes {bench.multi.get('configs')} config files with all apps "
        "deployed (an upstream file and a site per app); no load.", "",
        *multi_table(bench), "",
        notes,
    ]
    return "\n".join(lines) + "\n"
