"""Drain: wait for pre-reload nginx workers to exit, then for the old port to go quiet."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bluegreen_local.nginx.control import Worker, worker_alive
from bluegreen_local.util import net
from bluegreen_local.util.poll import poll_until, wait_all_gone


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
    count = _wait_quiet(old_port, deadline - time.monotonic(), connections)
    return DrainOutcome(not pending and count == 0, len(pending), count)


def wait_workers_gone(workers: Iterable[Worker], timeout: float) -> list[Worker]:
    """Wait until the nginx workers exited; return those still alive at the timeout."""
    return wait_all_gone(workers, worker_alive, timeout=timeout, interval=0.005, backoff=1.5,
                         max_interval=0.05, what="old nginx workers to exit")


def _wait_quiet(port: int, timeout: float, connections: Callable[[int], int]) -> int:
    """Count ESTABLISHED connections to `port` every 20 ms until there are none; the last count."""
    left = [0]  # the latest count: the first check runs at once, so this is always read

    def quiet() -> bool:
        left[0] = connections(port)
        return left[0] == 0

    poll_until(quiet, timeout=timeout, interval=0.02, what=f"connections to port {port} to end")
    return left[0]
