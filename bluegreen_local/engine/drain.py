"""Drain: wait for pre-reload nginx workers to exit, then for the old port to go quiet."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bluegreen_local.nginx.control import Worker, worker_alive
from bluegreen_local.util import net


@dataclass(frozen=True, slots=True)
class DrainOutcome:
    """How the drain ended: True if both conditions were met before the timeout."""

    complete: bool
    workers_left: int
    connections_left: int


def drain(
    old_workers: Iterable[Worker],
    old_port: int,
    timeout: float,
    *,
    connections: Callable[[int], int] = net.established_to,
) -> DrainOutcome:
    """Old workers gone first (they still accept and proxy to the old port), then sockets.

    Counting sockets alone passes too early at low traffic, while an old worker can still
    accept a new request and proxy it to the old port; worker exit is the primary signal.
    """
    deadline = time.monotonic() + timeout
    pending = wait_workers_gone(old_workers, timeout)
    count = connections(old_port)
    while count and time.monotonic() < deadline:
        time.sleep(0.02)
        count = connections(old_port)
    return DrainOutcome(not pending and count == 0, len(pending), count)


def wait_workers_gone(workers: Iterable[Worker], timeout: float) -> list[Worker]:
    """Wait until the nginx workers exited; return those still alive at the timeout."""
    deadline = time.monotonic() + timeout
    pending = [w for w in workers if worker_alive(w)]
    delay = 0.005
    while pending and time.monotonic() < deadline:
        time.sleep(delay)
        delay = min(0.05, delay * 1.5)
        pending = [w for w in pending if worker_alive(w)]
    return pending
