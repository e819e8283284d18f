"""The health policy on recorded probes, and the polling loop on a fake clock."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

import pytest

from bluegreen_local import health
from bluegreen_local.config import HealthConfig
from bluegreen_local.health import Probe, Verdict

POLICY = HealthConfig(
    path="/health", expect_status=frozenset({200, 204}), expect_body="", host_header="",
    interval=0.1, timeout=2.0, successes=2, deadline=1.0,
)
OK = Probe(200, "ok")
DOWN = Probe(None, error="connection refused")
ERROR = Probe(503, "starting")


class FakeTime:
    """Stands in for the time module inside bluegreen_local.health: sleeping moves the clock."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    fake = FakeTime()
    monkeypatch.setattr(health, "time", fake)
    return fake


def scripted(probes: Iterable[Probe]) -> tuple[Callable[[int, HealthConfig], Probe], list[int]]:
    """A fetch that returns the probes in order (the last one forever) and records the ports."""
    queue = list(probes)
    ports: list[int] = []

    def fetch(port: int, policy: HealthConfig) -> Probe:
        ports.append(port)
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return fetch, ports


# -- judge --------------------------------------------------------------------------------------


def test_judge_accepts_expected_status() -> None:
    assert health.judge(OK, POLICY) == Verdict(True, "GET /health returned 200")
    assert health.judge(Probe(204), POLICY).healthy


def test_judge_names_the_status() -> None:
    assert health.judge(ERROR, POLICY) == Verdict(False, "GET /health returned 503")
    assert not health.judge(Probe(302), POLICY).healthy


def test_judge_reports_transport_errors() -> None:
    assert health.judge(DOWN, POLICY) == Verdict(False, "connection refused")
    assert health.judge(Probe(None), POLICY) == Verdict(False, "no response")


def test_judge_checks_the_body() -> None:
    policy = replace(POLICY, expect_body="ready")
    assert health.judge(Probe(200, "all ready\n"), policy).healthy
    verdict = health.judge(Probe(200, "warming up"), policy)
    assert verdict == Verdict(False, "GET /health body lacks 'ready'")


def test_judge_checks_status_before_body() -> None:
    verdict = health.judge(Probe(500, "ready"), replace(POLICY, expect_body="ready"))
    assert verdict.reason == "GET /health returned 500"


# -- evaluate -----------------------------------------------------------------------------------


def test_not_probed_yet() -> None:
    assert health.evaluate([], POLICY) == Verdict(False, "not probed yet")


@pytest.mark.parametrize("successes", [2, 3])
def test_passes_only_after_n_consecutive_passes(successes: int) -> None:
    policy = replace(POLICY, successes=successes)
    results: list[Probe] = []
    for count in range(1, successes):
        results.append(OK)
        verdict = health.evaluate(results, policy)
        assert verdict == Verdict(False, f"{count} of {successes} consecutive successes")
    results.append(OK)
    assert health.evaluate(results, policy) == Verdict(True, "GET /health returned 200")


@pytest.mark.parametrize("successes", [2, 3])
def test_a_failure_resets_the_count(successes: int) -> None:
    policy = replace(POLICY, successes=successes)
    results = [OK] * (successes - 1) + [ERROR] + [OK] * (successes - 1)
    verdict = health.evaluate(results, policy)
    assert not verdict.healthy
    assert "503" in verdict.reason
    assert health.evaluate([*results, OK], policy).healthy


def test_latest_failure_is_the_reason() -> None:
    verdict = health.evaluate([OK, DOWN, ERROR], replace(POLICY, successes=3))
    assert verdict == Verdict(False, "GET /health returned 503")


def test_one_success_is_enough_when_configured() -> None:
    assert health.evaluate([ERROR, OK], replace(POLICY, successes=1)).healthy


def test_old_failures_are_forgotten() -> None:
    assert health.evaluate([DOWN, ERROR, DOWN, OK, OK], POLICY).healthy


# -- back-off -----------------------------------------------------------------------------------


def test_next_delay_backs_off_to_the_interval() -> None:
    delays = [0.0]
    for _ in range(6):
        delays.append(health.next_delay(delays[-1], POLICY))
    assert delays[1:] == pytest.approx([0.01, 0.02, 0.04, 0.08, 0.1, 0.1])


def test_next_delay_never_exceeds_a_short_interval() -> None:
    assert health.next_delay(0.0, replace(POLICY, interval=0.005)) == 0.005


# -- wait_healthy -------------------------------------------------------------------------------


def test_wait_healthy_returns_once_healthy(clock: FakeTime) -> None:
    fetch, ports = scripted([DOWN, DOWN, ERROR, OK, OK])
    verdict = health.wait_healthy(7002, POLICY, still_running=lambda: True, fetch=fetch)
    assert verdict == Verdict(True, "GET /health returned 200")
    assert ports == [7002] * 5
    # fast polling while failing; the full interval between successes
    assert clock.sleeps == pytest.approx([0.01, 0.02, 0.04, 0.1])


def test_wait_healthy_stops_at_once_when_the_process_exits(clock: FakeTime) -> None:
    fetch, ports = scripted([DOWN])
    verdict = health.wait_healthy(7001, POLICY, still_running=lambda: False, fetch=fetch)
    assert not verdict.healthy
    assert "exited" in verdict.reason
    assert "connection refused" in verdict.reason
    assert len(ports) == 1
    assert clock.sleeps == []


def test_wait_healthy_gives_up_at_the_deadline(clock: FakeTime) -> None:
    fetch, ports = scripted([ERROR])
    start = clock.now
    verdict = health.wait_healthy(7001, POLICY, still_running=lambda: True, fetch=fetch)
    assert not verdict.healthy
    assert verdict.reason == "not healthy within 1s: GET /health returned 503"
    assert clock.now - start <= POLICY.deadline
    assert len(ports) >= 10  # it kept probing until the deadline


def test_wait_healthy_deadline_with_flapping_app(clock: FakeTime) -> None:
    fetch, _ = scripted([OK, ERROR] * 100)
    verdict = health.wait_healthy(7001, replace(POLICY, deadline=0.5), still_running=lambda: True,
                                  fetch=fetch)
    assert verdict.reason.startswith("not healthy within 0.5s: ")
