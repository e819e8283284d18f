#!/usr/bin/env python3
"""The demo behind `make demo`: deploy examples/app.py v1 then v2 on a private nginx under load.

It drives the `bluegreen` CLI exactly as an operator would, counts every request sent through
nginx while v2 replaces v1, and leaves v2 running (`make demo-down` stops everything).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from loadgen import Load

HERE = Path(__file__).resolve().parent
CONFIG = """\
# Written by examples/demo.py for `make demo`.
state_dir = "{state}"

[app]
name = "demo"
command = "{python} {app} --port {{port}}"
ports = [{blue}, {green}]
stop_timeout = "5s"

[health]
path = "/health"
interval = "50ms"
deadline = "20s"

[nginx]
mode = "managed"
listen = "127.0.0.1:{listen}"

[drain]
timeout = "15s"
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path(".demo"),
                        help="where the demo keeps its config and state (default .demo)")
    parser.add_argument("--ports", default="7001,7002", help="blue,green ports")
    parser.add_argument("--listen", type=int, default=8080, help="nginx port on 127.0.0.1")
    parser.add_argument("--down", action="store_true", help="stop the demo and clean up")
    return parser.parse_args()


def bluegreen(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "bluegreen_local", *args, "-c", str(config)]
    return subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603


def deploy(config: Path, version: str) -> dict[str, object]:
    done = bluegreen(config, "deploy", version, "--json")
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"demo: `bluegreen deploy {version}` failed (exit {done.returncode})")
    result: dict[str, object] = json.loads(done.stdout)
    return result


def show(result: dict[str, object]) -> None:
    timings = result["timings"]
    if not isinstance(timings, dict):
        raise SystemExit(f"demo: unexpected deploy result {result!r}")
    phases = ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in timings.items() if k != "total")
    print(f"  {result['version']} live on {result['slot']} (port {result['port']}) "
          f"in {timings['total']:.2f}s: {phases}")


def main() -> int:
    args = parse_args()
    work = args.dir.resolve()
    config = work / "bluegreen.toml"
    if args.down:
        if not config.exists():
            print("demo: nothing to stop (no .demo/bluegreen.toml)")
            return 0
        done = bluegreen(config, "down")
        sys.stdout.write(done.stdout)
        sys.stderr.write(done.stderr)
        return done.returncode
    blue, green = (int(p) for p in args.ports.split(","))
    work.mkdir(parents=True, exist_ok=True)
    config.write_text(CONFIG.format(state=work / "state", python=sys.executable,
                                    app=HERE / "app.py", blue=blue, green=green,
                                    listen=args.listen))
    print(f"bluegreen demo: nginx on http://127.0.0.1:{args.listen}/, slots {blue}/{green}")
    show(deploy(config, "v1"))
    with Load("127.0.0.1", args.listen, threads=4, max_seconds=120) as load:
        load.wait_for(50)
        started = time.monotonic()
        show(deploy(config, "v2"))
        load.wait_for(load.stats.sent + 50)
        stats = load.stop()
    elapsed = time.monotonic() - started
    print(f"  load during the switch: {stats.sent} requests sent (Connection: close, 4 clients), "
          f"{stats.failed} failed; answered by {dict(stats.versions)} ({elapsed:.1f}s)")
    print(bluegreen(config, "status").stdout.rstrip())
    print(f"\ntry: curl http://127.0.0.1:{args.listen}/   stop it: make demo-down")
    return 1 if stats.failed else 0


if __name__ == "__main__":
    sys.exit(main())
