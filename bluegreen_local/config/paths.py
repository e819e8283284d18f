"""Getters for paths: files and folders nginx and bluegreen use, and the admin socket."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from bluegreen_local.config.fields import (
    SAFE_PATH_RE,
    SOCKET_PATH_MAX,
    UNIX_PATH_MAX,
    short,
)
from bluegreen_local.config.reader import Shown
from bluegreen_local.config.scalars import Scalars


class Paths(Scalars):
    """Paths are relative to the config file's folder; `~` expands to a home directory."""

    __slots__ = ()

    def path(self, name: str, default: str | None, *, parent_exists: bool = False,
             directory: bool = False, doc: str, shown: str | None = None) -> Path | None:
        """A path (relative to the config file); it may reach nginx, so keep it plain.

        `directory`: the path names a directory (else a file), so an existing one of the
        other kind is refused. `shown`: a computed default, as the reference tells it.
        """
        self.document(name, doc, default if shown is None else Shown(shown))
        value = self.string(name, default, doc=doc)
        if value is None:
            return None
        path = self.resolve(name, value)
        if path is None:
            return None
        if not value or not SAFE_PATH_RE.fullmatch(str(path)):
            self.problem(name, "must be a path made of A-Z a-z 0-9 / . _ - + @ "
                         f"(nginx reads it), got {short(value)}")
            return None
        if parent_exists and not is_dir(path.parent):
            self.problem(name, f"directory {path.parent} does not exist")
            return None
        if exists(path) and is_dir(path) != directory:
            want, got = ("a directory", "a file") if directory else ("a file", "a directory")
            self.problem(name, f"{path} is {got}; it must name {want}")
            return None
        return path

    def resolve(self, name: str, value: str) -> Path | None:
        """`value` as an absolute path, or None (reported) for an unknown user's home."""
        try:
            return self.base / Path(value).expanduser()
        except RuntimeError:  # "~someone" for a user that does not exist
            self.problem(name, f"cannot expand {short(value)}: no such user's home directory")
            return None

    def socket_path(self, name: str, default: Path, *, created: tuple[Path, ...],
                    doc: str, shown: str) -> Path | None:
        """A unix socket nginx binds: short enough, in a folder that exists or that we create."""
        path = self.path(name, str(default), doc=doc, shown=shown)
        if path is None:
            return None
        if len(os.fsencode(path)) > SOCKET_PATH_MAX:
            self.problem(name, f"unix socket path {path} is longer than {SOCKET_PATH_MAX} bytes "
                         f"(nginx also binds it with a generation suffix, and unix socket paths "
                         f"end at {UNIX_PATH_MAX}); set nginx.admin_socket (or state_dir) to a "
                         "shorter path")
            return None
        if path.parent not in created and not is_dir(path.parent):
            self.problem(name, f"directory {path.parent} does not exist (nginx creates the "
                         "socket in it)")
            return None
        return path


def exists(path: Path) -> bool:
    # Path.exists() raises PermissionError where it may not look (a user reading /root/...).
    try:
        path.stat()
    except (OSError, ValueError):
        return False
    return True


def is_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(path.stat().st_mode)
    except (OSError, ValueError):
        return False


def is_file(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except (OSError, ValueError):
        return False
