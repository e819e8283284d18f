"""The per-app flock lock, recording who holds it."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from bluegreen_local.model.errors import LockedError, StateError
from bluegreen_local.store.files import ensure_dir
from bluegreen_local.util.clock import now_iso
from bluegreen_local.util.poll import poll_until

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
    if not poll_until(lambda: _try_lock(fd), timeout=wait, interval=0.05, what=f"the lock {path}"):
        raise LockedError(
            failed=f"another bluegreen command holds the lock {path} ({_holder(path)}).",
            unchanged="Nothing was changed.",
            next_step="Wait for it to finish, then run again.")


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


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
