"""The load: wrk at a fixed rate through the public listener, and what its records say."""

from __future__ import annotations

import math
import os
import shutil
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from bench.env import Workspace

SCRIPT: Final = Path(__file__).resolve().parent / "pace.lua"
THREADS: Final = 2
CONNECTIONS: Final = 32
TIMEOUT: Final = 5.0  # a request slower than this counts as failed (wrk's own timeout too)
MAX_SECONDS: Final = 600  # the bound on one wrk run; the bench stops it earlier with SIGINT
TAIL: Final = 1.0  # unanswered requests sent this close to the stop were cut off by it


@dataclass(frozen=True, slots=True)
class Record:
    """One request: when it was sent (epoch), how long its answer took, and its status.

    latency is nan for a request that never got an answer; status 0 then. The rest is what
    nginx said about the answer (0 or nan when it did not say): the port of the upstream that
    answered, how many upstreams it tried, the pid of the nginx worker, which request this
    was on the client's connection (1: a new connection), and the time nginx spent waiting for
    the app's response head ($upstream_header_time, 1 ms resolution).
    """

    sent: float
    latency: float
    status: int
    upstream: int = 0
    tries: int = 0
    worker: int = 0
    conn_seq: int = 0
    upstream_time: float = math.nan

    @property
    def end(self) -> float:
        return self.sent + (0.0 if math.isnan(self.latency) else self.latency)

    def failure(self) -> str | None:
        """Why this request failed, or None if it got a 2xx in time."""
        if math.isnan(self.latency):
            return "no answer"
        if not 200 <= self.status < 300:
            return f"HTTP {self.status}"
        if self.latency > TIMEOUT:
            return "timeout"
        return None


@dataclass
class LoadRun:
    """Everything one wrk run saw."""

    records: list[Record]
    socket_errors: dict[str, int]
    started: float
    stopped: float
    rate: float
    keepalive: bool
    unmatched: int = 0

    @property
    def counted(self) -> list[Record]:
        """Requests whose fate is known: those cut off by the end of the run are left out."""
        cutoff = self.stopped - TAIL
        return [r for r in self.records if r.sent < cutoff or not math.isnan(r.latency)]

    def failures(self) -> Counter[str]:
        found: Counter[str] = Counter()
        for record in self.counted:
            if (why := record.failure()) is not None:
                found[why] += 1
        if self.socket_errors.get("connect"):
            found["connect error"] += self.socket_errors["connect"]
        return found

    def achieved_rate(self) -> float:
        return len(self.records) / max(self.stopped - self.started, 1e-9)


@dataclass
class Wrk:
    """One bounded wrk process: start, let it run, stop it with SIGINT and read its records."""

    ws: Workspace
    port: int
    rate: float  # requests per second in total; 0 = as fast as it can
    keepalive: bool
    label: str
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)
    started: float = field(default=0.0, init=False)

    @property
    def out(self) -> Path:
        return self.ws.root / f"wrk-{self.label}.txt"

    def start(self) -> Wrk:
        binary = shutil.which("wrk")
        if binary is None:
            raise RuntimeError("wrk is not installed (apt-get install wrk)")
        argv = [binary, "-t", str(THREADS), "-c", str(CONNECTIONS), "-d", f"{MAX_SECONDS}s",
                "--timeout", f"{TIMEOUT:g}s", "-s", str(SCRIPT)]
        if not self.keepalive:
            argv += ["-H", "Connection: close"]
        argv.append(f"http://127.0.0.1:{self.port}/")
        env = {**os.environ, "BENCH_RATE": str(self.rate), "BENCH_THREADS": str(THREADS),
               "BENCH_OUT": str(self.out)}
        self.started = time.time()
        self.proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        self.ws.track(self.proc.pid)
        return self

    def stop(self) -> LoadRun:
        assert self.proc is not None
        stopped = time.time()
        self.proc.send_signal(signal.SIGINT)
        try:
            _, err = self.proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError("wrk did not stop within 60s of SIGINT") from None
        self.ws.pids.discard(self.proc.pid)
        if self.proc.returncode != 0 or not self.out.exists():
            raise RuntimeError(f"wrk failed ({self.proc.returncode}): {err.decode()[-500:]}")
        errors, records, unmatched = parse(self.out.read_text())
        self.out.unlink()
        return LoadRun(records, errors, self.started, stopped, self.rate, self.keepalive,
                       unmatched)


def parse(text: str) -> tuple[dict[str, int], list[Record], int]:
    """pace.lua's output: wrk's error counters, the records, and answers without a request."""
    errors: dict[str, int] = {}
    records: list[Record] = []
    unmatched = 0
    for line in text.splitlines():
        if line.startswith("#"):
            errors = {k: int(v) for k, v in (part.split("=") for part in line[1:].split())}
            continue
        fields = line.split()
        if fields[1] == "-1":
            unmatched += 1
            continue
        records.append(record(fields))
    records.sort(key=lambda r: r.sent)
    return errors, records, unmatched


def record(fields: Sequence[str]) -> Record:
    """One line of pace.lua: sent, latency, status, then nginx's headers ("-" when absent):
    $upstream_addr, $pid, $connection_requests, $upstream_header_time."""
    sent, latency, status = float(fields[0]), float(fields[1]), int(fields[2])
    if len(fields) < 7:
        return Record(sent, latency, status)
    addresses, worker, seq, times = fields[3:7]
    tried = [a for a in addresses.split(",") if a and a != "-"]
    port = tried[-1].rsplit(":", 1)[-1] if tried else ""
    return Record(sent, latency, status, int(port) if port.isdigit() else 0, len(tried),
                  int(worker) if worker.isdigit() else 0, int(seq) if seq.isdigit() else 0,
                  _seconds(times))


def _seconds(text: str) -> float:
    """The sum of a comma-separated list of nginx times ("0.002,0.001"); nan when none."""
    values = [float(v) for v in text.split(",") if v.replace(".", "", 1).isdigit()]
    return math.fsum(values) if values else math.nan


# -- windows and percentiles ----------------------------------------------------------------------

Window = tuple[float, float]


def overlaps(record: Record, windows: Sequence[Window]) -> bool:
    return any(record.sent <= end and record.end >= start for start, end in windows)


def split(records: Iterable[Record], inside: Sequence[Window],
          busy: Sequence[Window]) -> tuple[list[float], list[float]]:
    """Latencies of answered requests inside the windows, and of those clear of every busy one."""
    within: list[float] = []
    steady: list[float] = []
    for record in records:
        if math.isnan(record.latency):
            continue
        if overlaps(record, inside):
            within.append(record.latency)
        elif not overlaps(record, busy):
            steady.append(record.latency)
    return within, steady


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile; nan for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]
