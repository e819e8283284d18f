"""What the use cases return: command results and history events."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from bluegreen_local.model.types import Release, Role, Slot


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
    config_hash: str | None = None  # the start settings of the version it started, if any


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
    role: Role | None = None  # what the topology says the instance is for
    runs: str | None = None  # what runs it: "pid 4242", "container 0a1b2c3d4e5f (image ...)"
    until: float | None = None  # a warm (or staged) slot's deadline, epoch seconds
    config_hash: str | None = None  # the digest of the settings it started with


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
    # A deploy running right now (its journal's owner is alive): not drift, it will settle.
    in_progress: str | None = None
    # `status --check`'s exit: 0 when state, processes and nginx agree, else the code of the
    # first problem (4: the app's side, 5: nginx's side).
    drift_exit_code: int = 0


@dataclass(frozen=True, slots=True)
class DownResult:
    """What `down` stopped."""

    app: str
    stopped_slots: tuple[Release, ...]
    nginx_stopped: bool
    changed: bool
    message: str = ""  # what clients get now, and how to bring the app back


@dataclass(frozen=True, slots=True)
class CheckItem:
    """One line of `check`."""

    name: str
    ok: bool
    detail: str
    # Worth fixing, but a deploy would still work: reported, and `check` still exits 0.
    warning: bool = False


@dataclass(frozen=True, slots=True)
class CheckResult:
    """What `check` found; `snippet` is the site config to add in system mode."""

    app: str
    ok: bool
    items: tuple[CheckItem, ...]
    snippet: str = ""


class PortUse(StrEnum):
    """Who holds the port a deploy would start the new version on."""

    FREE = "free"
    STALE = "stale"  # a leftover slot process of ours: the deploy would stop it first
    FOREIGN = "foreign"  # anything else: the deploy would refuse (exit 7)


@dataclass(frozen=True, slots=True)
class FileDiff:
    """One nginx file bluegreen owns: a unified diff from disk to what a deploy would write."""

    path: str
    diff: str  # empty when the file already reads so


@dataclass(frozen=True, slots=True)
class Plan:
    """What `deploy VERSION` would do now, found without changing anything (--dry-run).

    `slot` and `port` are where VERSION would be live afterwards. `idle_port` is None for a
    no-op, which starts nothing. `generation` is the token the files would carry: a real
    deploy picks its random part, so the plan renders `placeholder` in its place.
    """

    app: str
    version: str
    noop: bool
    slot: Slot
    port: int
    live: Release | None
    idle_port: PortUse | None
    idle_port_detail: str
    nginx_running: bool
    generation: str
    placeholder: str | None
    files: tuple[FileDiff, ...]
    refusal: str | None  # why the deploy would stop before starting anything (exit 7)
    recovery_pending: bool  # a journal is left: the deploy would recover first
    message: str
