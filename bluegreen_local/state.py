"""Versioned JSON state, history JSONL, atomic writes and the per-app flock lock."""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import json
import os
import secrets
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Final

from bluegreen_local.errors import LockedError, StateError
from bluegreen_local.models import HistoryEvent, Release, Slot, SlotProcess, Timings

# 2: `live` is a release (slot, port, version); 1 stored only the slot name.
SCHEMA: Final = 2


@dataclass(frozen=True, slots=True)
class State:
    """What the tool knows between runs: what is live, the processes it started.

    `live` outlives its process (a crash, a reboot): it says what `up` must bring back.
    """

    generation: int = 0
    token: str = ""
    live: Release | None = None
    slots: tuple[SlotProcess, ...] = field(default=())
    previous: Release | None = None

    def process(self, slot: Slot) -> SlotProcess | None:
        return next((p for p in self.slots if p.slot is slot), None)

    def with_process(self, proc: SlotProcess) -> State:
        others = tuple(p for p in self.slots if p.slot is not proc.slot)
        return replace(self, slots=(*others, proc))

    def without(self, slot: Slot) -> State:
        return replace(self, slots=tuple(p for p in self.slots if p.slot is not slot))

    @property
    def live_process(self) -> SlotProcess | None:
        if self.live is None:
            return None
        proc = self.process(self.live.slot)
        return proc if proc is not None and proc.release == self.live else None

    def next_generation(self) -> tuple[int, str]:
        """A new generation number and a token unique even if state was reset."""
        number = self.generation + 1
        return number, f"{number}-{secrets.token_hex(4)}"


# -- files ------------------------------------------------------------------------------------


def ensure_dir(path: Path) -> None:
    """Create a private directory (0700), or fail with a message naming it."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise StateError(f"cannot create directory {path}: {exc.strerror}") from None


def atomic_write(path: Path, data: str, *, mode: int = 0o600, durable: bool = True) -> None:
    """Write via a temp file in the same directory, fsync, then os.replace: all or nothing.

    durable=False skips the fsyncs: still atomic against a killed process, not against power
    loss (for files that are only hints, rewritten several times a second).
    """
    import tempfile  # only writers pay for it: `status --json` is latency-bound and writes nothing

    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise StateError(f"cannot write {path}: {exc.strerror}; it was left unchanged") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        Path(tmp).chmod(mode)
        Path(tmp).replace(path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            Path(tmp).unlink()
        raise StateError(f"cannot write {path}: {exc.strerror}; it was left unchanged") from None
    if durable:
        _fsync_dir(path.parent)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# -- state ------------------------------------------------------------------------------------


def load(state_dir: Path) -> State:
    """Read state.json; a missing file is an empty state."""
    path = state_dir / "state.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return State()
    except (OSError, ValueError) as exc:
        raise StateError(
            f"cannot read {path}: {exc}. Move it aside to start from an empty state; "
            "the running slots and nginx are not affected."
        ) from None
    return from_json(raw, path)


def save(state_dir: Path, state: State) -> None:
    ensure_dir(state_dir)
    atomic_write(state_dir / "state.json", json.dumps(to_json(state), indent=2) + "\n")


def to_json(state: State) -> dict[str, object]:
    return {"schema": SCHEMA, **asdict(state)}


def from_json(raw: object, path: Path) -> State:
    """Parse (and migrate, when older schemas exist) a state document."""
    if not isinstance(raw, dict) or not isinstance(raw.get("schema"), int):
        raise StateError(f"{path}: not a state document (expected a JSON object with a schema); "
                         "move it aside to start from an empty state")
    schema = raw["schema"]
    if schema > SCHEMA:
        raise StateError(
            f"{path}: state schema {schema!r} is newer than this bluegreen understands "
            f"({SCHEMA}). Upgrade bluegreen-local; nothing was changed."
        )
    if schema == 1:
        raw = _migrate_1(raw)
    try:
        return State(
            generation=int(raw.get("generation", 0)),
            token=str(raw.get("token", "")),
            live=release_from_json(raw.get("live")),
            slots=tuple(_slot_process(p) for p in raw.get("slots", [])),
            previous=release_from_json(raw.get("previous")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise StateError(
            f"{path}: malformed state ({exc!r}); move it aside to start over"
        ) from None


def _migrate_1(raw: dict[Any, Any]) -> dict[Any, Any]:
    """Schema 1 named the live slot; its release is that slot's recorded process, if any."""
    live = raw.get("live")
    slots = raw.get("slots")
    if live not in {s.value for s in Slot} or not isinstance(slots, list):
        return raw  # nothing to migrate, or malformed: the parser says so
    found = [p for p in slots if isinstance(p, dict) and p.get("slot") == live]
    release = {k: found[0].get(k) for k in ("slot", "port", "version")} if found else None
    return {**raw, "live": release}


def _slot_process(raw: dict[str, object]) -> SlotProcess:
    return SlotProcess(
        slot=Slot(str(raw["slot"])), port=int(str(raw["port"])), version=str(raw["version"]),
        pid=int(str(raw["pid"])), create_time=float(str(raw["create_time"])),
        started_at=float(str(raw["started_at"])),
    )


def release_from_json(raw: object) -> Release | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ValueError(f"expected a release object, got {raw!r}")
    return Release(Slot(raw["slot"]), int(raw["port"]), str(raw["version"]))


# -- history ----------------------------------------------------------------------------------


def append_history(state_dir: Path, event: HistoryEvent) -> None:
    """Append one JSON line and fsync; history is an audit trail, so it must survive a crash."""
    ensure_dir(state_dir)
    path = state_dir / "history.jsonl"
    line = json.dumps(asdict(event), separators=(",", ":")) + "\n"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise StateError(f"cannot append to {path}: {exc.strerror}") from None


def read_history(state_dir: Path, limit: int | None = None) -> list[HistoryEvent]:
    """Events newest first; unreadable lines are skipped rather than hiding the rest."""
    path = state_dir / "history.jsonl"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise StateError(f"cannot read {path}: {exc.strerror}") from None
    events: list[HistoryEvent] = []
    for line in reversed(lines):
        event = _event(line)
        if event is not None:
            events.append(event)
            if limit is not None and len(events) >= limit:
                break
    return events


def _event(line: str) -> HistoryEvent | None:
    try:
        raw = json.loads(line)
        timings = raw.get("timings")
        return HistoryEvent(
            time=raw["time"], action=raw["action"], outcome=raw["outcome"], app=raw["app"],
            version=raw.get("version"),
            slot=Slot(raw["slot"]) if raw.get("slot") else None,
            port=raw.get("port"), previous=release_from_json(raw.get("previous")),
            user=raw.get("user", ""), message=raw.get("message", ""),
            timings=Timings(**timings) if isinstance(timings, dict) else None,
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


# -- lock -------------------------------------------------------------------------------------


@contextlib.contextmanager
def locked(state_dir: Path, *, wait: float = 0.0) -> Iterator[None]:
    """Hold the app's flock; it dies with the process, so a crash never leaves it stale."""
    ensure_dir(state_dir)
    path = state_dir / "lock"
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise StateError(f"cannot open lock file {path}: {exc.strerror}") from None
    try:
        _acquire(fd, path, wait)
        _write_holder(fd)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def _acquire(fd: int, path: Path, wait: float) -> None:
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise LockedError(
                    f"another bluegreen command holds the lock {path} ({_holder(path)}). "
                    "Nothing was changed. Wait for it to finish, then run again."
                ) from None
            time.sleep(0.05)


def _write_holder(fd: int) -> None:
    info = {"pid": os.getpid(), "command": " ".join(sys.argv)[:500], "started": now_iso()}
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(info).encode("utf-8"), 0)


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        return f"pid {info['pid']}, `{info['command']}`, since {info['started']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "holder unknown"


def now_iso() -> str:
    """The current local time as ISO 8601 with offset (lock holders, history events)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def current_user() -> str:
    """Who runs the command, for history; never fails."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
