"""The phase runner: journal, timings, report, before/after hooks and the signal policies."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from bluegreen_local.engine.phases import LAPS, POLICY, PhaseEvent, Phases, Policy
from bluegreen_local.model.types import Phase, Release, Slot
from bluegreen_local.store import journal

TARGET = Release(Slot.GREEN, 7002, "v2")


def interrupt_me() -> None:
    os.kill(os.getpid(), signal.SIGINT)


@pytest.fixture
def reports() -> list[tuple[Phase, str]]:
    return []


@pytest.fixture
def phases(tmp_path: Path, reports: list[tuple[Phase, str]]) -> Phases:
    return Phases(tmp_path, "deploy", "v2",
                  report=lambda phase, seconds, detail: reports.append((phase, detail)),
                  started_at="2026-12-02T00:00:00Z")


def test_a_phase_is_journaled_timed_and_reported(phases: Phases, tmp_path: Path,
                                                  reports: list[tuple[Phase, str]]) -> None:
    with phases, phases.run(Phase.START, TARGET) as step:
        during = json.loads((tmp_path / "journal.json").read_text())
        step.detail = "v2 pid 42"
    assert (during["phase"], during["action"], during["target"]["port"]) == ("start", "deploy",
                                                                            7002)
    assert reports == [(Phase.START, "v2 pid 42")]
    assert set(phases.marks) == {"start"} and phases.marks["start"] >= 0
    assert phases.timings().start == phases.marks["start"]


def test_hooks_run_before_and_after_with_what_happened(phases: Phases) -> None:
    seen: list[PhaseEvent] = []
    phases.before.append(seen.append)
    phases.after.append(seen.append)
    with phases, phases.run(Phase.HEALTH, TARGET) as step:
        assert [e.seconds for e in seen] == [None], "before-hook ran first"
        step.detail = "healthy"
    assert [(e.phase, e.target, e.detail) for e in seen] == [
        (Phase.HEALTH, TARGET, ""), (Phase.HEALTH, TARGET, "healthy")]
    assert seen[1].seconds is not None and seen[1].action == "deploy"


def test_a_failed_phase_is_not_reported(phases: Phases,
                                        reports: list[tuple[Phase, str]]) -> None:
    after: list[PhaseEvent] = []
    phases.after.append(after.append)
    with pytest.raises(RuntimeError), phases, phases.run(Phase.HEALTH):
        raise RuntimeError("unhealthy")
    assert reports == [] and after == [] and "healthy" not in phases.marks


def test_interrupt_raises_inside_the_phase(phases: Phases) -> None:
    ran_on = False
    with pytest.raises(KeyboardInterrupt), phases, phases.run(Phase.HEALTH):
        interrupt_me()
        ran_on = True
    assert not ran_on


def test_hold_finishes_the_body_then_raises(phases: Phases,
                                           reports: list[tuple[Phase, str]]) -> None:
    finished = False
    with pytest.raises(KeyboardInterrupt), phases, phases.run(Phase.START) as step:
        interrupt_me()
        finished = True
        step.detail = "recorded"
    assert finished and reports == [(Phase.START, "recorded")]


def test_finish_holds_signals_until_the_run_is_over(phases: Phases,
                                                    reports: list[tuple[Phase, str]]) -> None:
    original = signal.getsignal(signal.SIGINT)
    with phases:
        with phases.run(Phase.SWITCH):
            interrupt_me()
        with phases.run(Phase.DRAIN):
            interrupt_me()  # between and inside later phases too
        assert phases.interrupted
    assert [p for p, _ in reports] == [Phase.SWITCH, Phase.DRAIN]
    assert signal.getsignal(signal.SIGINT) is original, "handlers are restored"


def test_reports_run_with_signals_held(tmp_path: Path) -> None:
    """A signal during the report (a terminal write) lets the report finish, then raises."""
    written: list[str] = []

    def report(phase: Phase, seconds: float, detail: str) -> None:
        interrupt_me()
        written.append(detail)

    phases = Phases(tmp_path, "deploy", "v2", report=report)
    with pytest.raises(KeyboardInterrupt), phases, phases.run(Phase.HEALTH) as step:
        step.detail = "the whole line"
    assert written == ["the whole line"]


def test_every_phase_has_a_policy() -> None:
    assert set(POLICY) == set(Phase)
    assert POLICY[Phase.START] is Policy.HOLD
    assert {p for p, v in POLICY.items() if v is Policy.FINISH} == {
        Phase.SWITCH, Phase.DRAIN, Phase.STOP, Phase.RECORD}
    assert set(LAPS.values()) == {"start", "healthy", "switch", "drain", "stop"}


def test_hold_covers_the_journal_and_the_hooks(phases: Phases,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A signal while the START line is journaled or a hook runs waits for the phase's end,
    so the spawn it guards is always recorded."""
    write = journal.write

    def interrupted_write(*args: object) -> None:
        interrupt_me()
        write(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(journal, "write", interrupted_write)
    phases.before.append(lambda _: interrupt_me())
    finished = False
    with pytest.raises(KeyboardInterrupt), phases, phases.run(Phase.START) as step:
        finished = True
        step.detail = "recorded"
    assert finished
