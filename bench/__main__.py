"""`make bench`: `bluegreen deploy` against the naive switch and a bare reload, in one run.

Writes bench/RESULTS.md and bench/results.png (committed) and bench/out/raw.json (per deploy).
Every process it starts lives under one temporary directory and is stopped by pid at the end.
"""

from __future__ import annotations

import argparse
import compileall
import dataclasses
import json
import os
import pickle
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Final

from bench.client import status
from bench.contenders import BlueGreen, Contender, Naive, ReloadOnly
from bench.env import REPO, App, SharedNginx, Workspace, free_ports, poll
from bench.measure import (
    ModeResult,
    calibrate,
    cold_start,
    import_profile,
    multi_app,
    run_mode,
)
from bench.report import Bench, markdown

HERE: Final = Path(__file__).resolve().parent
MODES: Final = ("close", "keepalive")


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--deploys", type=int, default=50,
                        help="deploys per contender and client mode (default 50)")
    parser.add_argument("--rate", type=float, default=0,
                        help="requests/s (default: --load-share of the calibrated maximum)")
    parser.add_argument("--load-share", type=float, default=0.5,
                        help="fixed rate as a share of what the machine sustains (default 0.5)")
    parser.add_argument("--cold-runs", type=int, default=20)
    parser.add_argument("--multi-deploys", type=int, default=15)
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument("--report-only", action="store_true",
                        help="measure nothing: rewrite the report from OUT/out/bench.pickle")
    return parser.parse_args(argv)


def tool(name: str) -> str:
    found = shutil.which(name, path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin"]))
    if found is None:
        raise SystemExit(f"bench: {name} is not installed (apt-get install {name})")
    return found


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.report_only:
        with (args.out / "out" / "bench.pickle").open("rb") as handle:
            write(pickle.load(handle), args.out)  # noqa: S301 - our own file, just written
        return 0
    nginx = tool("nginx")
    for name in ("wrk", "curl", "ss"):
        tool(name)
    # Measure the tool as a wheel install leaves it, with its bytecode compiled, even where
    # PYTHONDONTWRITEBYTECODE keeps a source checkout from caching it.
    compileall.compile_dir(REPO / "bluegreen_local", quiet=1)
    began, load_before = time.monotonic(), os.getloadavg()[0]
    with Workspace.create() as ws:
        bench = run(ws, nginx, args)
    # Only the shared nginx should have been left for the clean-up to stop.
    log(f"clean-up stopped: {ws.killed or 'nothing'}")
    if left := Workspace(ws.root).strays():
        raise SystemExit(f"bench: processes survived the clean-up: {[p.pid for p in left]}")
    minutes, seconds = divmod(time.monotonic() - began, 60)
    bench.meta.update(duration=f"{minutes:.0f} min {seconds:.0f} s",
                      load=f"{load_before:.2f} / {os.getloadavg()[0]:.2f}")
    write(bench, args.out)
    log(f"done in {minutes:.0f} min {seconds:.0f} s: {args.out / 'RESULTS.md'}")
    return 0


def run(ws: Workspace, nginx: str, args: argparse.Namespace) -> Bench:
    ngx = SharedNginx(ws, nginx)
    blue, green, listen = free_ports(3)
    app = App("bench", ws, ngx, (blue, green), listen)
    ngx.conf_d.mkdir(parents=True)
    app.install()
    ngx.start()
    poll(lambda: status(listen) == 502, 10, "the shared nginx")
    bluegreen = BlueGreen(app)
    bluegreen.prepare()
    calibration = calibrate(ws, listen)
    rate = args.rate or max(100.0, round(calibration["close"] * args.load_share, -2))
    log(f"sustained: {calibration['close']:.0f} req/s (Connection: close), "
        f"{calibration['keepalive']:.0f} req/s (keep-alive); load: {rate:.0f} req/s")
    modes = contend(ws, listen, bluegreen, rate, args.deploys)
    log("CLI cold start")
    cold = cold_start(app, args.cold_runs)
    imports = import_profile(app)
    bluegreen.teardown()
    naive, control = Naive(app, ngx, ws), ReloadOnly(ngx, ws)
    naive.prepare()
    modes += contend(ws, listen, naive, rate, args.deploys)
    control.prepare()
    modes += contend(ws, listen, control, rate, args.deploys)
    control.teardown()
    naive.teardown()
    # The contenders' files leave the shared nginx: the next figure starts from one app.
    for path in (app.upstream_file, ngx.conf_d / "site-bench.conf"):
        path.unlink()
    ngx.reload()
    log(f"one app among 20: {args.multi_deploys} deploys alone, then with 19 more apps")
    multi = multi_app(ws, ngx, args.multi_deploys)
    return Bench(meta(nginx), calibration, rate, modes, cold, imports, multi)


def contend(ws: Workspace, port: int, contender: Contender, rate: float,
            deploys: int) -> list[ModeResult]:
    found = []
    for mode in MODES:
        t = time.monotonic()
        result = run_mode(ws, port, contender, mode, deploys, rate)
        log(f"{contender.name}, {mode}: {len(result.deploys)} deploys, {result.requests:,} "
            f"requests, {result.failed} failed ({time.monotonic() - t:.0f} s)")
        found.append(result)
    return found


def meta(nginx: str) -> dict[str, str]:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    nginx_version = subprocess.run([nginx, "-v"], capture_output=True, text=True,
                                   check=False).stderr.strip().split("/")[-1]
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True,
                                 check=False).stdout.split()[1]
    return {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{os.cpu_count()} cores ({cpu}), {memory:.0f} GiB, "
                   f"{platform.system()} {platform.release()}",
        "software": f"nginx {nginx_version}, wrk {wrk_version}, "
                    f"Python {platform.python_version()}",
    }


def write(bench: Bench, out: Path) -> None:
    from bench.plot import plot

    raw = out / "out"
    raw.mkdir(parents=True, exist_ok=True)
    with (raw / "bench.pickle").open("wb") as handle:
        pickle.dump(bench, handle)
    (out / "RESULTS.md").write_text(markdown(bench, NOTES))
    plot(bench, out / "results.png")
    document = {
        "meta": bench.meta, "calibration": bench.calibration, "rate": bench.rate,
        "modes": [{"contender": m.contender, "mode": m.mode, "requests": m.requests,
                   "failures": dict(m.failures), "socket_errors": m.socket_errors,
                   "rate": m.rate, "deploys": [dataclasses.asdict(d) for d in m.deploys]}
                  for m in bench.modes],
        "cold": bench.cold, "imports": bench.imports, "multi": bench.multi,
    }
    (raw / "raw.json").write_text(json.dumps(document, indent=1, default=str))


NOTES: Final = """\
## Method

See [bench/README.md](README.md) for how each figure is taken and for what the numbers of the
committed run mean (the targets missed, the profile, and what remains).
"""


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
