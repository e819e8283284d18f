"""poll_until on a fake clock: when it checks, how long it sleeps, what it returns."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from helpers import FakeClock

from bluegreen_local.util.poll import poll_until


class Script:
    """A check that answers the values in order (the last one forever), noting when it ran."""

    def __init__(self, clock: FakeClock, *answers: object, cost: float = 0.0) -> None:
        self.clock, self.answers, self.cost = clock, list(answers), cost
        self.times: list[float] = []

    def __call__(self) -> object:
        self.times.append(self.clock.now)
        self.clock.now += self.cost
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def poll(clock: FakeClock, check: Callable[[], object], *, timeout: float,
         interval: float = 0.01, backoff: float = 1.0, max_interval: float = 1.0) -> object:
    return poll_until(check, timeout=timeout, interval=interval, backoff=backoff,
                      max_interval=max_interval, clock=clock, sleep=clock.sleep)


def test_a_condition_that_holds_at_once_returns_without_sleeping(clock: FakeClock) -> None:
    check = Script(clock, "ready")
    assert poll(clock, check, timeout=5.0) == "ready"
    assert clock.sleeps == []
    assert check.times == [1000.0]


def test_success_after_some_polls_returns_that_value(clock: FakeClock) -> None:
    check = Script(clock, None, None, None, 42)
    assert poll(clock, check, timeout=5.0, interval=0.02) == 42
    assert clock.sleeps == pytest.approx([0.02] * 3)
    assert len(check.times) == 4


@pytest.mark.parametrize("not_yet", [None, False, 0, "", []])
def test_every_falsy_answer_means_not_yet_and_a_timeout_returns_none(
    clock: FakeClock, not_yet: object
) -> None:
    check = Script(clock, not_yet)
    # binary fractions, so that the fake clock adds up exactly
    assert poll(clock, check, timeout=0.5, interval=0.0625) is None
    assert clock.now == 1000.5
    assert len(check.times) == 9  # at 0, 62.5 ms, ..., 500 ms


def test_backoff_grows_each_pause_up_to_the_cap(clock: FakeClock) -> None:
    poll(clock, Script(clock, None), timeout=0.05, interval=0.002, backoff=1.5,
         max_interval=0.01)
    assert clock.sleeps[:6] == pytest.approx([0.002, 0.003, 0.0045, 0.00675, 0.01, 0.01])
    assert max(clock.sleeps) == pytest.approx(0.01)


def test_the_last_sleep_is_cut_short_at_the_deadline(clock: FakeClock) -> None:
    poll(clock, Script(clock, None), timeout=0.025, interval=0.01)
    assert clock.sleeps == pytest.approx([0.01, 0.01, 0.005])
    assert clock.now == 1000.025  # not a moment past it


def test_a_final_check_runs_at_the_deadline(clock: FakeClock) -> None:
    check = Script(clock, None, None, None, "late")
    assert poll(clock, check, timeout=0.025, interval=0.01) == "late"
    assert check.times[-1] == 1000.025


def test_a_check_that_ends_past_the_deadline_is_the_last(clock: FakeClock) -> None:
    check = Script(clock, None, cost=0.03)
    assert poll(clock, check, timeout=0.05, interval=0.01) is None
    assert check.times == pytest.approx([1000.0, 1000.04])
    assert clock.sleeps == pytest.approx([0.01])


def test_a_zero_timeout_checks_once(clock: FakeClock) -> None:
    check = Script(clock, None)
    assert poll(clock, check, timeout=0.0) is None
    assert check.times == [1000.0] and clock.sleeps == []


def test_a_pace_function_chooses_each_pause_from_the_time_waited(clock: FakeClock) -> None:
    waited: list[float] = []

    def pace(seconds: float) -> float:
        waited.append(seconds)
        return 0.01 if seconds < 0.015 else 0.05

    poll_until(Script(clock, None), timeout=0.2, interval=pace, clock=clock, sleep=clock.sleep)
    assert waited[:4] == pytest.approx([0.0, 0.01, 0.02, 0.07])
    assert clock.sleeps == pytest.approx([0.01, 0.01, 0.05, 0.05, 0.05, 0.03])


def test_an_error_in_the_check_ends_the_wait(clock: FakeClock) -> None:
    def check() -> None:
        raise RuntimeError("refused")

    with pytest.raises(RuntimeError, match="refused"):
        poll(clock, check, timeout=1.0)
    assert clock.sleeps == []
