"""history.jsonl: the append-only audit trail of every command that changed something."""

from __future__ import annotations

import getpass
import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Final

from bluegreen_local.model.errors import StateError
from bluegreen_local.model.results import HistoryEvent, Timings
from bluegreen_local.model.types import Slot
from bluegreen_local.store.files import ensure_dir
from bluegreen_local.store.state import release_from_json

# 2: `live` is a release (slot, port, version); 1 stored only the slot name.
SCHEMA: Final = 2



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
            config_hash=raw.get("config_hash"),
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None




def current_user() -> str:
    """Who runs the command, for history; never fails."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
