"""Value types: nginx modes, runner kinds, slots, deploy phases, releases, and the topology:
instances (a release plus a runner handle and a role) and the routes nginx is rendered from."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum


class Mode(StrEnum):
    """Which nginx the tool drives."""

    MANAGED = "managed"
    SYSTEM = "system"


class RunnerKind(StrEnum):
    """How the app's versions are run (app.runner)."""

    PROCESS = "process"
    DOCKER = "docker"


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


class Role(StrEnum):
    """What an instance is for: its role decides whether nginx routes to it and whether
    recovery keeps it. An instance with no role is unclaimed and recovery stops it."""

    LIVE = "live"  # takes the public traffic
    STAGED = "staged"  # started and healthy, not yet promoted (a preview)
    WARM = "warm"  # the previous live version, kept running until a deadline
    CANARY = "canary"  # takes a weighted share of the public traffic


@dataclass(frozen=True, slots=True)
class ProcessHandle:
    """How the process runner finds an instance again: pid plus create time, never a bare pid
    (pids are reused)."""

    pid: int
    create_time: float

    @property
    def runner(self) -> RunnerKind:
        return RunnerKind.PROCESS

    def describe(self) -> str:
        return f"pid {self.pid}"


@dataclass(frozen=True, slots=True)
class ContainerHandle:
    """How the docker runner finds an instance again: the container's id (names are reused
    by the next deploy to the slot), its name, and the host pid of its main process when it
    started (what `status` shows; the engine asks the container, not the pid)."""

    container_id: str
    name: str
    pid: int

    @property
    def runner(self) -> RunnerKind:
        return RunnerKind.DOCKER

    def describe(self) -> str:
        return f"container {self.container_id[:12]}"


# One member per runner kind; a runner only ever receives its own kind of handle.
Handle = ProcessHandle | ContainerHandle


@dataclass(frozen=True, slots=True)
class Instance:
    """A version running in a slot, as a runner started it, and the role it plays now."""

    slot: Slot
    port: int
    version: str
    started_at: float
    handle: Handle
    role: Role | None = None
    until: float | None = None  # WARM: stopped once this time (epoch seconds) has passed
    weight: int | None = None  # CANARY: percent of the live traffic
    # The digest of its start settings (config/identity.py); None: started before digests.
    config_hash: str | None = None

    @property
    def release(self) -> Release:
        return Release(self.slot, self.port, self.version)

    def claimed(self, now: float) -> bool:
        """True while a role keeps this instance running (recovery stops the others)."""
        if self.role is None:
            return False
        return self.role is not Role.WARM or (self.until is not None and now < self.until)

    def with_role(self, role: Role | None, *, until: float | None = None,
                  weight: int | None = None) -> Instance:
        return replace(self, role=role, until=until, weight=weight)


@dataclass(frozen=True, slots=True)
class Route:
    """A release nginx sends traffic to, and in which role; the nginx context is built from
    these, so a preview listener or a weighted split is a template change."""

    role: Role
    release: Release
    weight: int = 100


def live_routes(release: Release) -> tuple[Route, ...]:
    """The topology of a plain blue-green switch: all traffic to one release."""
    return (Route(Role.LIVE, release),)
