"""The measurements: calibration, deploys under load, CLI cold start, one app among twenty."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import time
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from typing import Final

from bench.client import status
from bench.contenders import Contender, Deploy
from bench.env import REPO, App, SharedNginx, Workspace, free_ports, poll
from bench.load import LoadRun, Record, Wrk, percentile, split

WARMUP: Final = 2.0  # steady load before the first deploy
GAP: Final = 0.3  # steady load between deploys
QUIET_TAIL: Final = 1.5  # steady load after the last deploy (longer than load.TAIL)
BUSY_MARGIN: Final = (0.05, 0.3)  # around a deploy, requests are neither steady nor "in window"


@dataclass
class ModeResult:
    """One contender under one client mode: its deploys and what the load saw."""

    contender: str
    mode: str
    deploys: list[Deploy]
    requests: int
    failures: Counter[str]
    failures_outside: int  # failed requests clear of every deploy (should be 0)
    socket_errors: dict[str, int]
    rate: float
    steady: list[float]
    within: list[float]
    records: list[Record] = field(repr=False)

    @property
    def failed(self) -> int:
        return sum(self.failures.values())


def calibrate(ws: Workspace, port: int, seconds: float = 3.0) -> dict[str, float]:
    """What the machine sustains: wrk unpaced, per client mode, through the same listener."""
    found = {}
    for mode in ("close", "keepalive"):
        wrk = Wrk(ws, port, 0, mode == "keepalive", f"calibrate-{mode}").start()
        time.sleep(seconds)
        found[mode] = wrk.stop().achieved_rate()
    return found


def run_mode(ws: Workspace, port: int, contender: Contender, mode: str, deploys: int,
             rate: float) -> ModeResult:
    """Deploy `deploys` times under fixed-rate load; the load runs from before to after."""
    wrk = Wrk(ws, port, rate, mode == "keepalive", f"{mode}-{len(ws.pids)}").start()
    done: list[Deploy] = []
    try:
        time.sleep(WARMUP)
        for index in range(1, deploys + 1):
            done.append(contender.deploy(mode, index))
            time.sleep(GAP)
        time.sleep(QUIET_TAIL)
    finally:
        run = wrk.stop()
    return summarize(contender.name, mode, done, run)


def summarize(name: str, mode: str, deploys: list[Deploy], run: LoadRun) -> ModeResult:
    inside = [d.window for d in deploys]
    busy = [(d.began - BUSY_MARGIN[0], d.window[1] + BUSY_MARGIN[1]) for d in deploys]
    within, steady = split(run.counted, inside, busy)
    outside = sum(1 for r in run.counted if r.failure() and not any(
        start <= r.sent <= end for start, end in busy))
    return ModeResult(name, mode, deploys, len(run.counted), run.failures(), outside,
                      run.socket_errors, run.achieved_rate(), steady, within, run.records)


# -- CLI cold start ---------------------------------------------------------------------------


# What pip writes for a console script (`[project.scripts]` in pyproject.toml).
CONSOLE_SCRIPT: Final = """\
#!{python}
import sys
from {module} import {function}
if __name__ == "__main__":
    sys.exit({function}())
"""


def cli_argv(ws: Workspace) -> list[str]:
    """The `bluegreen` console script as an install writes it, for the entry point this
    checkout declares (an editable install's script can name an entry point of another)."""
    with (REPO / "pyproject.toml").open("rb") as handle:
        entry = tomllib.load(handle)["project"]["scripts"]["bluegreen"]
    module, function = entry.split(":")
    script = ws.root / "bluegreen"
    script.write_text(CONSOLE_SCRIPT.format(python=sys.executable, module=module,
                                            function=function))
    script.chmod(0o755)
    return [str(script)]


INTERPRETER: Final = "python -c pass"


def cold_start(app: App, runs: int) -> dict[str, list[float]]:
    """Wall time of whole CLI processes, as a user or a script sees it, interleaved with the
    interpreter's own start-up: run i of every command shares one moment of the machine."""
    cli = cli_argv(app.ws)
    commands = [(INTERPRETER, [sys.executable, "-c", "pass"]),
                ("bluegreen status --json", [*cli, "status", "--json", "-c", str(app.config)]),
                ("bluegreen --help", [*cli, "--help"])]
    found: dict[str, list[float]] = {label: [] for label, _ in commands}
    for index in range(runs + 2):
        # Rotate the order, so no command always runs right after the same other one.
        shift = index % len(commands)
        for label, argv in commands[shift:] + commands[:shift]:
            t = time.perf_counter()
            subprocess.run(argv, capture_output=True, check=True)
            if index >= 2:  # two warm-ups: the page cache, not the interpreter, is warm
                found[label].append(time.perf_counter() - t)
    return found


IMPORT_RE: Final = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( +)(\S+)")


def import_profile(app: App) -> dict[str, float]:
    """`python -X importtime` of `status --json`: self time (ms) by group of modules."""
    code = ("import sys; sys.argv = ['bluegreen', 'status', '--json', '-c', sys.argv[1]]\n"
            "from bluegreen_local.cli.lane import main\nmain()")
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", code, str(app.config)],
                          capture_output=True, text=True, check=False)
    groups: dict[str, float] = {}
    for line in done.stderr.splitlines():
        match = IMPORT_RE.match(line)
        if match:
            name = _group(match[4])
            groups[name] = groups.get(name, 0.0) + int(match[1]) / 1000
    return dict(sorted(groups.items(), key=lambda item: -item[1]))


def _group(module: str) -> str:
    top = module.split(".")[0]
    if top == "bluegreen_local":
        return module
    if top in {"typer", "click", "shellingham", "annotated_doc"}:
        return "typer (+ its click)"
    if top in {"pydantic", "pydantic_core", "annotated_types", "typing_inspection"}:
        return "pydantic (typer >= 0.29 coerces options with it)"
    if top in {"rich", "markdown_it", "mdurl", "pygments"}:
        return "rich"
    if top in {"jinja2", "markupsafe"}:
        return "jinja2"
    if top in {"httpx", "httpcore", "h11", "anyio", "sniffio", "certifi", "idna"}:
        return "httpx"
    if top == "psutil":
        return "psutil"
    return "python stdlib"


# -- one app among twenty ---------------------------------------------------------------------


def multi_app(ws: Workspace, ngx: SharedNginx, deploys: int, apps: int = 20) -> dict[str, object]:
    """Deploy time of one app when the shared nginx serves it alone, then with apps - 1 more."""
    ports = free_ports(3 * apps)
    fleet = [App(f"m{i:02d}", ws, ngx, (ports[3 * i], ports[3 * i + 1]), ports[3 * i + 2])
             for i in range(apps)]
    first = fleet[0]
    first.install()
    first.cli("deploy", "w0", "--json")
    poll(lambda: status(first.listen) == 200, 10, "the first app to serve")
    alone = _timed_deploys(first, "a", deploys)
    for other in fleet[1:]:
        other.install()
    for other in fleet[1:]:
        other.cli("deploy", "w0", "--json")
    configs = len(list(ngx.conf_d.glob("*.conf")))
    crowded = _timed_deploys(first, "b", deploys)
    for app in fleet:
        app.down()
    return {"apps": apps, "configs": configs, "alone": alone, "crowded": crowded}


def _timed_deploys(app: App, tag: str, count: int) -> list[dict[str, float]]:
    found = []
    for index in range(1, count + 1):
        t = time.perf_counter()
        done = app.cli("deploy", f"w{tag}{index}", "--json")
        wall = time.perf_counter() - t
        timings = {k: float(v) for k, v in json.loads(done.stdout)["timings"].items()}
        found.append({**timings, "wall": wall})
        time.sleep(0.1)
    return found


# -- small statistics -------------------------------------------------------------------------


def median(values: list[float]) -> float:
    return percentile(values, 50)


def spread(values: list[float]) -> tuple[float, float]:
    """The 10th and 90th percentiles."""
    return percentile(values, 10), percentile(values, 90)


def finite(values: list[float | None]) -> list[float]:
    return [v for v in values if v is not None and not math.isnan(v)]
