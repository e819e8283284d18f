"""The health policy on recorded probes and the polling loop on a fake clock (the probe's HTTP
is in test_http_probe.py)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import replace

import pytest
from helpers import FakeClock

from bluegreen_local.config import HealthConfig
from bluegreen_local.probes import health, http
from bluegreen_local.probes.health import Probe, Verdict

POLICY = HealthConfig(
    path="/health", expect_status=frozenset({200, 204}), expect_body="", host_header="",
    interval=0.1, timeout=2.0, successes=2, deadline=1.0,
)
OK = Probe(200, "ok")
DOWN = Probe(None, error="connection refused")
ERROR = Probe(503, "starting")


@pytest.fixture(autouse=True)
def fresh_client(monkeypatch: pytest.MonkeyPatch) -> None:
    """wait_healthy starts building the httpx client: each test starts without one."""
    monkeypatch.setattr(http, "_BACKGROUND", http._Background())


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
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


def test_failing_probes_start_fast() -> None:
    assert health.next_delay(0.0, False, POLICY) == pytest.approx(0.01)
    assert health.next_delay(0.15, False, POLICY) == pytest.approx(0.01)


def test_failing_probes_back_off_with_the_time_waited_up_to_the_interval() -> None:
    # The pause is 5% of the time waited: the readiness lag stays small next to the start-up.
    assert health.next_delay(1.0, False, POLICY) == pytest.approx(0.05)
    assert health.next_delay(30.0, False, POLICY) == pytest.approx(0.1)


def test_a_pass_is_confirmed_quickly() -> None:
    assert health.next_delay(5.0, True, POLICY) == pytest.approx(0.02)


def test_next_delay_never_exceeds_a_short_interval() -> None:
    short = replace(POLICY, interval=0.005)
    assert health.next_delay(0.0, False, short) == 0.005
    assert health.next_delay(0.0, True, short) == 0.005


# -- wait_healthy -------------------------------------------------------------------------------


def test_wait_healthy_returns_once_healthy(clock: FakeClock) -> None:
    fetch, ports = scripted([DOWN, DOWN, ERROR, OK, OK])
    verdict = health.wait_healthy(7002, POLICY, still_running=lambda: True, fetch=fetch)
    assert verdict == Verdict(True, "GET /health returned 200")
    assert ports == [7002] * 5
    # fast polling while failing; the passes confirmed 20 ms apart
    assert clock.sleeps == pytest.approx([0.01, 0.01, 0.01, 0.02])


def test_meanwhile_runs_once_after_the_first_failed_probe(clock: FakeClock) -> None:
    fetch, ports = scripted([DOWN, DOWN, OK, OK])
    calls: list[int] = []
    verdict = health.wait_healthy(7002, POLICY, still_running=lambda: True, fetch=fetch,
                                  meanwhile=lambda: calls.append(len(ports)))
    assert verdict.healthy
    assert len(calls) == 1 and calls[0] >= 1  # after the first probe, once, finished by now
    # It runs beside the probes: their schedule is the one without it.
    assert clock.sleeps == pytest.approx([0.01, 0.01, 0.02])


def test_an_error_in_meanwhile_is_raised_to_the_caller(clock: FakeClock) -> None:
    fetch, _ = scripted([DOWN, OK, OK])

    def broken() -> None:
        raise RuntimeError("a bug in the preparation")

    with pytest.raises(RuntimeError, match="a bug in the preparation"):
        health.wait_healthy(7002, POLICY, still_running=lambda: True, fetch=fetch,
                            meanwhile=broken)


def test_meanwhile_is_skipped_for_an_app_that_answers_at_once(clock: FakeClock) -> None:
    fetch, _ = scripted([OK, OK])
    calls: list[str] = []
    verdict = health.wait_healthy(7002, POLICY, still_running=lambda: True, fetch=fetch,
                                  meanwhile=lambda: calls.append("ran"))
    assert verdict.healthy and calls == []


def test_wait_healthy_stops_at_once_when_the_process_exits(clock: FakeClock) -> None:
    fetch, ports = scripted([DOWN])
    verdict = health.wait_healthy(7001, POLICY, still_running=lambda: False, fetch=fetch)
    assert not verdict.healthy
    assert "exited" in verdict.reason
    assert "connection refused" in verdict.reason
    assert len(ports) == 1
    assert clock.sleeps == []


def test_wait_healthy_gives_up_at_the_deadline(clock: FakeClock) -> None:
    fetch, ports = scripted([ERROR])
    start = clock.now
    verdict = health.wait_healthy(7001, POLICY, still_running=lambda: True, fetch=fetch)
    assert not verdict.healthy
    assert verdict.reason == "not healthy within 1s: GET /health returned 503"
    assert clock.now - start <= POLICY.deadline
    assert len(ports) >= 10  # it kept probing until the deadline


def test_wait_healthy_deadline_with_flapping_app(clock: FakeClock) -> None:
    fetch, _ = scripted([OK, ERROR] * 100)
    verdict = health.wait_healthy(7001, replace(POLICY, deadline=0.5), still_running=lambda: True,
                                  fetch=fetch)
    assert verdict.reason.startswith("not healthy within 0.5s: ")


def test_wait_healthy_probes_a_slow_starter_less_often(clock: FakeClock) -> None:
    fetch, _ = scripted([DOWN] * 200 + [OK])
    verdict = health.wait_healthy(7001, replace(POLICY, deadline=60), still_running=lambda: True,
                                  fetch=fetch)
    assert verdict.healthy
    assert clock.sleeps[:5] == pytest.approx([0.01] * 5)
    assert max(clock.sleeps) == pytest.approx(POLICY.interval)


def test_a_signal_while_meanwhile_starts_stays_an_interrupt(
        clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C inside Thread.start(), before the thread began: the gate ends with the
    KeyboardInterrupt (exit 130), not with join()'s RuntimeError about an unstarted thread."""
    fetch, _ = scripted([DOWN, OK, OK])

    def interrupted_start(self: threading.Thread) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(threading.Thread, "start", interrupted_start)
    with pytest.raises(KeyboardInterrupt):
        health.wait_healthy(7002, POLICY, still_running=lambda: True, fetch=fetch,
                            meanwhile=lambda: None)
