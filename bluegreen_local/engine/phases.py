"""The phase runner: every phase of a deploy is journaled, timed and reported in one place,
with before/after points (where operator hooks attach) and a signal policy per phase.

The policies say what SIGINT/SIGTERM/SIGHUP (a dropped SSH session) do during a phase:

- INTERRUPT: raise at once; the caller undoes what the phase began (before traffic moves).
- HOLD: wait until the phase's body is over, then raise (spawning a version and recording it
  must not be split, or the process would be orphaned).
- FINISH: from this phase on, the run finishes (switch, drain, stop, record, each bounded by a
  timeout); the signals are only reported once the run ends (`interrupted`).

Reports and hooks always run with signals held: an interrupt inside a terminal write can leave
its output half-done, and a hook must not be cut off by a signal meant for the deploy.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Final

from bluegreen_local.engine import signals
from bluegreen_local.model.results import Timings
from bluegreen_local.model.types import Phase, Release
from bluegreen_local.nginx.control import Worker
from bluegreen_local.store import journal

log = logging.getLogger(__name__)

Reporter = Callable[[Phase, float, str], None]


class Policy(StrEnum):
    """What a signal does during a phase (see the module's docstring)."""

    INTERRUPT = "interrupt"
    HOLD = "hold"
    FINISH = "finish"


POLICY: Final = {
    Phase.LOCK: Policy.INTERRUPT, Phase.RECOVER: Policy.INTERRUPT,
    Phase.PREFLIGHT: Policy.INTERRUPT,
    Phase.START: Policy.HOLD, Phase.HEALTH: Policy.INTERRUPT, Phase.SWITCH: Policy.FINISH,
    Phase.DRAIN: Policy.FINISH, Phase.STOP: Policy.FINISH, Phase.RECORD: Policy.FINISH,
}
# The phases whose durations a deploy's result reports, under these names.
LAPS: Final = {Phase.START: "start", Phase.HEALTH: "healthy", Phase.SWITCH: "switch",
               Phase.DRAIN: "drain", Phase.STOP: "stop"}


def quiet(phase: Phase, seconds: float, detail: str) -> None:
    """The default reporter: phases go to the log only."""
    log.info("%s %.3fs %s", phase, seconds, detail)


@dataclass(frozen=True, slots=True)
class PhaseEvent:
    """What a before/after hook learns: the phase, the run, and (after) how it went."""

    phase: Phase
    action: str
    version: str
    target: Release | None
    seconds: float | None = None  # None before the phase
    detail: str = ""


Hook = Callable[[PhaseEvent], None]


@dataclass(slots=True)
class Step:
    """The phase under way; its body sets `detail`, the line the report shows."""

    phase: Phase
    target: Release | None
    detail: str = ""


@dataclass(slots=True)
class Phases:
    """One command's phases. Use as a context manager around the whole run: it installs the
    signal handlers and, once a FINISH phase began, holds signals until the run is over."""

    state_dir: Path
    action: str
    version: str
    report: Reporter = quiet
    started: float = field(default_factory=time.monotonic)
    before: list[Hook] = field(default_factory=list)
    after: list[Hook] = field(default_factory=list)
    marks: dict[str, float] = field(default_factory=dict)
    started_at: str = ""
    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    _held: signals.Pending | None = None  # FINISH: until the run ends
    _hold: signals.Pending | None = None  # HOLD: until the phase ends

    def __enter__(self) -> Phases:
        self._stack.enter_context(signals.interruptible())
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stack.close()

    @property
    def interrupted(self) -> bool:
        """True when a signal arrived after the run reached a FINISH phase."""
        return bool(self._held and self._held.received)

    def journal(self, phase: Phase, target: Release | None = None,
                workers: Iterable[Worker] = ()) -> None:
        """Record the phase under way, so a run killed here is finished or undone next time."""
        journal.write(self.state_dir, journal.Journal(
            self.action, self.version, phase, os.getpid(), self.started_at, target,
            tuple((w.pid, w.create_time) for w in workers)))

    def timings(self) -> Timings:
        return Timings(**self.marks, total=time.monotonic() - self.started)

    @contextlib.contextmanager
    def run(self, phase: Phase, target: Release | None = None, *,
            journaled: bool = True) -> Iterator[Step]:
        """Journal, time, hook and report one phase; its body runs under the phase's policy.
        A phase whose body raises is not reported (the error says what happened)."""
        policy = POLICY[phase]
        if policy is Policy.FINISH and self._held is None:
            self._held = self._stack.enter_context(signals.deferred())
        hold: signals.Pending | None = None
        with contextlib.ExitStack() as holding:
            if policy is Policy.HOLD:
                # From before the journal line to after the report: nothing of the phase may
                # be cut off, or its effect (a spawned process) would go unrecorded.
                hold = self._hold = holding.enter_context(signals.deferred())
                holding.callback(self._release)
            if journaled:
                self.journal(phase, target)
            step = Step(phase, target)
            event = PhaseEvent(phase, self.action, self.version, target)
            self._guarded(lambda: self._call(self.before, event))
            t = time.monotonic()
            yield step
            seconds = time.monotonic() - t
            if phase in LAPS:
                self.marks[LAPS[phase]] = seconds
            self.tell(phase, seconds, step.detail, target)
        if hold is not None and hold.received:
            raise KeyboardInterrupt(hold.received[0])

    def tell(self, phase: Phase, seconds: float, detail: str,
             target: Release | None = None) -> None:
        """Report a phase and run its after-hooks."""
        event = PhaseEvent(phase, self.action, self.version, target, seconds, detail)

        def both() -> None:
            self.report(phase, seconds, detail)
            self._call(self.after, event)

        self._guarded(both)

    def _guarded(self, work: Callable[[], None]) -> None:
        """Run `work` with signals held; one that arrived is raised afterwards, unless a
        phase holds signals (then it waits for that phase's end, or the run's)."""
        with signals.deferred() as pending:
            work()
        if pending.received:
            holder = self._hold or self._held
            if holder is None:
                raise KeyboardInterrupt(pending.received[0])
            holder.received.extend(pending.received)

    def _release(self) -> None:
        self._hold = None

    def _call(self, hooks: list[Hook], event: PhaseEvent) -> None:
        for hook in hooks:
            hook(event)

