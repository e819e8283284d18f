"""The journal: the phase of the command under way, left behind only if it was killed."""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from bluegreen_local.model.types import Phase, Release
from bluegreen_local.store.files import atomic_write
from bluegreen_local.store.state import release_from_json


@dataclass(frozen=True, slots=True)
class Journal:
    """The deploy under way, phase by phase; a journal left behind means it was killed."""

    action: str
    version: str
    phase: Phase
    pid: int
    started: str
    target: Release | None = None
    # nginx workers from before the reload: they may still proxy to the old slot.
    old_workers: tuple[tuple[int, float], ...] = ()


def write(state_dir: Path, journal: Journal) -> None:
    # Not fsynced: a journal protects against a killed CLI (page cache survives that); after
    # a power loss recovery still works from the world, nginx's generation first.
    atomic_write(state_dir / "journal.json", json.dumps(asdict(journal)) + "\n", durable=False)


def read(state_dir: Path) -> Journal | None:
    """The journal of an interrupted run, or None; an unreadable one counts as interrupted."""
    path = state_dir / "journal.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return Journal(
            action=str(raw["action"]), version=str(raw["version"]), phase=Phase(raw["phase"]),
            pid=int(raw["pid"]), started=str(raw["started"]),
            target=release_from_json(raw.get("target")),
            old_workers=tuple((int(p), float(t)) for p, t in raw.get("old_workers", [])),
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        return Journal("deploy", "?", Phase.LOCK, 0, "?")


def clear(state_dir: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        (state_dir / "journal.json").unlink()
