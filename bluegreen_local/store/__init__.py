"""Everything the tool keeps on disk: atomic files, versioned state, history, lock, journal."""

from __future__ import annotations

from bluegreen_local.store.files import atomic_write, ensure_dir
from bluegreen_local.store.history import append_history, current_user, read_history
from bluegreen_local.store.lock import locked
from bluegreen_local.store.state import SCHEMA, State, from_json, load, save, to_json

__all__ = [
    "SCHEMA", "State", "append_history", "atomic_write", "current_user", "ensure_dir",
    "from_json", "load", "locked", "read_history", "save", "to_json",
]
