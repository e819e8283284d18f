"""Value types: nginx modes, runner kinds, slots, deploy phases, releases and slot processes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Mode(StrEnum):
    """Which nginx the tool drives."""

    MANAGED = "managed"
    SYSTEM = "system"


class RunnerKind(StrEnum):
    """How the app's versions are run (app.runner)."""

    PROCESS = "process"


class Slot(StrEnum):
    """The two places a version can run; blue uses app.ports[0], green app.ports[1]."""

    BLUE = "blue"
    GREEN = "green"

    @property
    def other(self) -> Slot:
        return Slot.GREEN if self is Slot.BLUE else Slot.BLUE


class Phase(StrEnum):
    """The deploy's steps, in order; progress is reported one line per phase."""

    LOCK = "lock"
    RECOVER = "recover"
    PREFLIGHT = "preflight"
    START = "start"
    HEALTH = "health"
    SWITCH = "switch"
    DRAIN = "drain"
    STOP = "stop"
    RECORD = "record"


@dataclass(frozen=True, slots=True)
class Release:
    """A version placed in a slot."""

    slot: Slot
    port: int
    version: str


@dataclass(frozen=True, slots=True)
class SlotProcess:
    """A running slot process as we started it; pid plus create_time identify it."""

    slot: Slot
    port: int
    version: str
    pid: int
    create_time: float
    started_at: float

    @property
    def release(self) -> Release:
        return Release(self.slot, self.port, self.version)
