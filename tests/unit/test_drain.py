"""The drain's socket phase on a scripted connection count (no nginx workers to wait for)."""

from __future__ import annotations

from bluegreen_local.engine.drain import DrainOutcome, drain


def test_drain_completes_once_the_old_port_goes_quiet() -> None:
    counts = [2, 1, 0]
    ports: list[int] = []

    def connections(port: int) -> int:
        ports.append(port)
        return counts.pop(0)

    assert drain([], 7001, 5.0, connections=connections) == DrainOutcome(True, 0, 0)
    assert ports == [7001] * 3  # no count is read after the one that found none


def test_drain_reports_the_last_count_at_the_timeout() -> None:
    assert drain([], 7001, 0.05, connections=lambda port: 3) == DrainOutcome(False, 0, 3)
