#!/usr/bin/env python3
"""Example app for bluegreen-local: stdlib only, threaded, graceful on SIGTERM.

GET /        -> "hello from <version>"   (version from $BLUEGREEN_VERSION)
GET /health  -> "ok" (status set by --health-status)
GET /slow?s=N -> answers after N seconds (for drain tests)

On SIGTERM it stops accepting connections, finishes the requests in flight, then exits.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from urllib.parse import parse_qs, urlparse

VERSION = os.environ.get("BLUEGREEN_VERSION", "dev")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as nginx's upstream keepalive expects
    # Headers and body go out in separate writes; with Nagle on, a kept-alive upstream
    # connection stalls ~40 ms on delayed ACKs.
    disable_nagle_algorithm = True
    health_status = 200
    health_delay = 0.0
    server_version = "bluegreen-example"
    timeout = 5  # idle keep-alive connections close after this (nginx keeps them 1s)

    def do_GET(self) -> None:
        url = urlparse(self.path)
        if url.path == "/health":
            time.sleep(self.health_delay)
            self._send(self.health_status, "ok\n" if self.health_status == 200 else "unhealthy\n")
        elif url.path == "/slow":
            seconds = float(parse_qs(url.query).get("s", ["1"])[0])
            time.sleep(min(seconds, 120.0))
            self._send(200, f"slow {seconds:g}s from {VERSION}\n")
        elif url.path == "/":
            self._send(200, f"hello from {VERSION}\n")
        else:
            self._send(404, "not found\n")

    def _send(self, status: int, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Version", VERSION)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass  # one line per request would swamp the slot log under load


class Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() waits for requests in flight
    block_on_close = True
    request_queue_size = 1024


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--health-status", type=int, default=200,
                        help="status /health returns (503 makes an unhealthy version)")
    parser.add_argument("--health-delay", type=float, default=0.0,
                        help="seconds /health takes to answer (a hanging health check)")
    parser.add_argument("--startup-delay", type=float, default=0.0,
                        help="seconds to wait before listening (a slow start)")
    parser.add_argument("--exit-at-start", type=int, default=None, metavar="CODE",
                        help="print an error and exit with CODE (a crashing version)")
    parser.add_argument("--ready-file", type=Path, default=None,
                        help="write the epoch time at which the port first accepted connections")
    parser.add_argument("--children", type=int, default=0,
                        help="start N idle child processes (like a pre-fork master's workers)")
    parser.add_argument("--ignore-term", action="store_true",
                        help="ignore SIGTERM (a stuck app that must be killed)")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.exit_at_start is not None:
        print(f"example app {VERSION}: fatal: cannot load settings (simulated)", flush=True)
        return int(args.exit_at_start)
    time.sleep(args.startup_delay)
    Handler.health_status = args.health_status
    Handler.health_delay = args.health_delay
    server = Server((args.host, args.port), Handler)
    if args.ready_file:
        args.ready_file.write_text(f"{time.time():.6f}\n")
    print(f"example app {VERSION} listening on {args.host}:{args.port} (pid {os.getpid()})",
          flush=True)

    def on_term(signum: int, frame: FrameType | None) -> None:
        # shutdown() blocks until serve_forever returns, so call it from another thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, signal.SIG_IGN if args.ignore_term else on_term)
    workers = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
               for _ in range(args.children)]
    server.serve_forever(poll_interval=0.01)
    server.server_close()  # joins the threads still answering requests
    for worker in workers:
        worker.terminate()
    print(f"example app {VERSION}: stopped cleanly", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
