"""Value types shared by the layers: slots, phases, state records and command results."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Mode(StrEnum):
    """Which nginx the tool drives."""

    MANAGED = "managed"
    SYSTEM = "system"


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


@dataclass(frozen=True, slots=True)
class Timings:
    """Seconds spent in each deploy phase."""

    start: float = 0.0
    healthy: float = 0.0
    switch: float = 0.0
    drain: float = 0.0
    stop: float = 0.0
    total: float = 0.0


@dataclass(frozen=True, slots=True)
class DeployResult:
    """What a deploy or rollback did."""

    ok: bool
    changed: bool
    app: str
    version: str
    slot: Slot
    port: int
    previous: Release | None
    timings: Timings
    action: str = "deploy"
    drain_timed_out: bool = False
    message: str = ""


@dataclass(frozen=True, slots=True)
class HistoryEvent:
    """One line of history.jsonl."""

    time: str
    action: str
    outcome: str
    app: str
    version: str | None
    slot: Slot | None
    port: int | None
    previous: Release | None
    user: str
    message: str = ""
    timings: Timings | None = None


@dataclass(frozen=True, slots=True)
class SlotStatus:
    """A slot as `status` observed it."""

    slot: Slot
    port: int
    version: str | None
    pid: int | None
    running: bool
    healthy: bool | None
    uptime: float | None
    memory_rss: int | None


@dataclass(frozen=True, slots=True)
class NginxStatus:
    """The proxy as `status` observed it."""

    mode: str
    running: bool
    master_pid: int | None
    listen: str | None
    upstream_file: str
    generation_rendered: str | None
    generation_served: str | None


@dataclass(frozen=True, slots=True)
class StatusResult:
    """Everything `status` reports; it takes no lock and changes nothing."""

    app: str
    live: SlotStatus | None
    idle: SlotStatus | None
    nginx: NginxStatus
    last_event: HistoryEvent | None
    problems: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class DownResult:
    """What `down` stopped."""

    app: str
    stopped_slots: tuple[Release, ...]
    nginx_stopped: bool
    changed: bool


@dataclass(frozen=True, slots=True)
class CheckItem:
    """One line of `check`."""

    name: str
    ok: bool
    detail: str


@dataclass(frozen=True, slots=True)
class CheckResult:
    """What `check` found; `snippet` is the site config to add in system mode."""

    app: str
    ok: bool
    items: tuple[CheckItem, ...]
    snippet: str = ""
