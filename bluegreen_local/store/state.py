"""Versioned JSON state: what is live and which slot processes run, migrated on read."""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Final

from bluegreen_local.model.errors import StateError
from bluegreen_local.model.types import Release, Slot, SlotProcess
from bluegreen_local.store.files import atomic_write, ensure_dir

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
