"""Finding a program the way exec will: a bare name on PATH, a path from the working directory."""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

# Debian and most distributions install nginx in /usr/sbin, which is on root's PATH only.
SBIN_DIRS: Final = ("/usr/sbin", "/usr/local/sbin")


@dataclass(frozen=True, slots=True)
class Program:
    """Where a program is (`path`), or why it cannot be run (`problem`)."""

    path: Path | None
    problem: str = ""


def find_program(name: str, *, search_path: str | None = None, cwd: Path | None = None,
                 extra_dirs: Sequence[str] = ()) -> Program:
    """Resolve argv[0]: a name with a slash is a file (relative to `cwd`, as exec sees it from
    there); a bare name is looked up on `search_path` (None: our own PATH), then in
    `extra_dirs`."""
    if search_path is None:
        search_path = os.environ.get("PATH", os.defpath)
    if "/" in name:
        # Absolute even from a relative cwd: the caller may run it from elsewhere.
        return _file(Path.cwd() / (cwd or Path()) / name, name)
    dirs = [d for d in (*search_path.split(os.pathsep), *extra_dirs) if d]
    found = shutil.which(name, path=os.pathsep.join(dict.fromkeys(dirs)))
    if found is not None:
        return Program(Path(found))
    where = f"on PATH ({search_path})" if search_path else "on PATH (empty)"
    extra = [d for d in extra_dirs if d not in search_path.split(os.pathsep)]
    if extra:
        where += " or in " + ", ".join(extra)
    return Program(None, f"program {name!r} not found {where}")


def _file(path: Path, written: str) -> Program:
    try:
        info = path.stat()
    except OSError as exc:
        return Program(None, f"program {written!r} cannot be run: {path}: {exc.strerror}")
    if stat.S_ISDIR(info.st_mode):
        return Program(None, f"program {written!r} is a directory ({path})")
    if not os.access(path, os.X_OK):
        return Program(None, f"program {written!r} is not executable ({path}; chmod +x it)")
    return Program(path)
