"""Atomic file writes and private directories."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Final

from bluegreen_local.model.errors import StateError

# 2: `live` is a release (slot, port, version); 1 stored only the slot name.
SCHEMA: Final = 2



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
    _place(path, data, mode=mode, durable=durable, put=Path.replace)


def create_new(path: Path, data: str, *, mode: int = 0o600) -> bool:
    """Write `path` only if nothing is there, all or nothing (a hard link of the finished temp
    file, which fails if the name exists); False, and nothing written, if something was."""
    try:
        _place(path, data, mode=mode, durable=True, put=_link)
    except FileExistsError:
        return False
    return True


def _link(tmp: Path, path: Path) -> None:
    try:
        path.hardlink_to(tmp)
    finally:
        tmp.unlink()


def _place(path: Path, data: str, *, mode: int, durable: bool,
           put: Callable[[Path, Path], object]) -> None:
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
        put(Path(tmp), path)
    except FileExistsError:
        raise
    except OSError as exc:
        with contextlib.suppress(OSError):
            Path(tmp).unlink()
        raise StateError(f"cannot write {path}: {exc.strerror}; it was left unchanged") from None
    if durable:
        _fsync_dir(path.parent)


def atomic_replace(source: Path, target: Path) -> None:
    """Rename a file written beside `target` (with atomic_write) over it, durably."""
    try:
        source.replace(target)
    except OSError as exc:
        raise StateError(f"cannot write {target}: {exc.strerror}; it was left unchanged") from None
    _fsync_dir(target.parent)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
