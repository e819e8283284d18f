"""bench/results.png: the switch as clients see it, side by side, plus the key figures."""

from __future__ import annotations

import bisect
import random
from pathlib import Path
from typing import Final

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.axes import Axes

from bench.measure import ModeResult, median, spread
from bench.report import BLUEGREEN, CONTROL, NAIVE, Bench, multi_totals, phases

MAX_POINTS: Final = 15_000
COLOURS: Final = {"close": "#1f77b4", "keepalive": "#ff7f0e"}


def plot(bench: Bench, path: Path) -> None:
    fig, axes = plt.subplots(2, 3, figsize=(17, 9.5))
    for ax, name in zip(axes[0], (BLUEGREEN, NAIVE, CONTROL), strict=True):
        _switch_scatter(ax, bench.mode(name, "close"))
    _failures(axes[1][0], bench)
    _phases(axes[1][1], bench)
    _multi(axes[1][2], bench)
    fig.suptitle(f"bluegreen-local benchmark: {bench.rate:,.0f} req/s through nginx, "
                 f"{bench.meta['machine']}", fontsize=12)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _switch_scatter(ax: Axes, mode: ModeResult) -> None:
    """Every request around every switch, aligned on the switch start (Connection: close)."""
    sent = [r.sent for r in mode.records]
    ok_x: list[float] = []
    ok_y: list[float] = []
    bad_x: list[float] = []
    for deploy in mode.deploys:
        start, end = deploy.window
        lo = bisect.bisect_left(sent, start - 0.3)
        hi = bisect.bisect_right(sent, end + 0.5)
        for record in mode.records[lo:hi]:
            if record.failure() is None:
                ok_x.append(record.sent - start)
                ok_y.append(record.latency * 1000)
            else:
                bad_x.append(record.sent - start)
    if len(ok_x) > MAX_POINTS:
        keep = sorted(random.Random(1).sample(range(len(ok_x)), MAX_POINTS))
        ok_x, ok_y = [ok_x[i] for i in keep], [ok_y[i] for i in keep]
    ax.scatter(ok_x, ok_y, s=2, alpha=0.3, color="#2a7", label="2xx (sampled)")
    top = max(ok_y, default=10.0) * 1.5
    ax.scatter(bad_x, [top] * len(bad_x), s=14, marker="x", color="#d22",
               label=f"failed: {mode.failed}")
    windows = [d.window[1] - d.window[0] for d in mode.deploys]
    ax.axvspan(0, median(windows), color="#ccc", alpha=0.5, label="switch window (median)")
    ax.set_yscale("log")
    ax.set_xlabel("seconds since the switch began (new side healthy)")
    ax.set_ylabel("latency ms (log)")
    ax.set_title(f"{mode.contender}: {len(mode.deploys)} deploys overlaid, Connection: close",
                 fontsize=10)
    ax.legend(loc="upper right", fontsize=8)


def _failures(ax: Axes, bench: Bench) -> None:
    names = [BLUEGREEN, NAIVE, CONTROL]
    for offset, mode in ((-0.2, "close"), (0.2, "keepalive")):
        counts = [bench.mode(n, mode).failed for n in names]
        bars = ax.bar([i + offset for i in range(3)], [max(c, 0.0) for c in counts], width=0.4,
                      color=COLOURS[mode], label=mode)
        for bar, count in zip(bars, counts, strict=True):
            ax.annotate(str(count), (bar.get_x() + bar.get_width() / 2, max(count, 0.5)),
                        ha="center", va="bottom", fontsize=9)
    ax.set_yscale("symlog", linthresh=1)
    ax.set_xticks(range(3), [n.replace(" (control)", "\n(control)") for n in names])
    deploys = len(bench.mode(BLUEGREEN, "close").deploys)
    ax.set_title(f"failed requests over {deploys} deploys per client mode", fontsize=10)
    ax.legend(fontsize=8)


def _phases(ax: Axes, bench: Bench) -> None:
    rows = phases(bench.deploys(BLUEGREEN))
    keys = ["start -> healthy", "app readiness", "readiness lag", "switch", "drain", "stop",
            "tool overhead", "total"]
    data = [[v * 1000 for v in rows[k]] for k in keys]
    ax.boxplot(data, vert=False, showfliers=False)
    ax.set_yticks(range(1, len(keys) + 1), keys, fontsize=9)
    ax.set_xlabel("ms")
    ax.axvline(150, color="#d22", linestyle=":", linewidth=1)
    ax.set_title("bluegreen deploy: per-phase times (box: quartiles)", fontsize=10)


def _multi(ax: Axes, bench: Bench) -> None:
    labels, meds, errs = [], [], []
    for key, label in (("alone", "1 app"), ("crowded", f"{bench.multi.get('apps')} apps")):
        totals = [t * 1000 for t in multi_totals(bench, key)]
        low, high = spread(totals)
        labels.append(label)
        meds.append(median(totals))
        errs.append((median(totals) - low, high - median(totals)))
    ax.bar(labels, meds, yerr=list(zip(*errs, strict=True)), color="#888", capsize=6)
    ax.set_ylabel("deploy total, ms (median, p10-p90)")
    ax.set_title("one app's deploy: nginx serving 1 vs many apps", fontsize=10)
