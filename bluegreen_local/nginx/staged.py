"""Staged copies of the nginx files bluegreen owns: written beside the real ones while the new
version boots, renamed into place at the switch.

A copy is named `.<name>.bluegreen-staged` in the real file's directory, so the rename stays
on one file system (atomic) and no include glob picks it up: glob(3), which nginx's `include`
uses, never matches a leading dot with `*`, and the name does not end in `.conf`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from bluegreen_local.config.model import Config
from bluegreen_local.model.types import Mode
from bluegreen_local.nginx.control import main_conf
from bluegreen_local.nginx.files import owned_paths
from bluegreen_local.store.files import atomic_write

SUFFIX: Final = ".bluegreen-staged"


def copy_path(path: Path) -> Path:
    """Where the staged copy of `path` is written."""
    return path.with_name(f".{path.name}{SUFFIX}")


def test_path(main: Path) -> Path:
    """The main file `nginx -t` reads before the switch: the staged main file, but including
    the staged upstream file (the staged main file itself must include the real path)."""
    return copy_path(main.with_name(f"{main.stem}-test{main.suffix}"))


def write(files: Mapping[Path, str]) -> dict[Path, Path]:
    """Write each file's staged copy (fsynced); returns real path -> staged copy."""
    copies = {path: copy_path(path) for path in files}
    for path, text in files.items():
        atomic_write(copies[path], text, mode=0o644)
    return copies


def leftovers(config: Config) -> list[Path]:
    """Every staged name this app's deploys write."""
    owned = owned_paths(config)
    tests = [test_path(main_conf(config))] if config.nginx.mode is Mode.MANAGED else []
    return [*map(copy_path, owned), *tests]


def discard(config: Config) -> None:
    """Remove every staged copy, whoever left it: a run killed between staging and switching
    leaves its copies behind (harmless: nginx never reads them)."""
    for path in leftovers(config):
        # Never a reason to fail a deploy: a copy that cannot go is overwritten or ignored.
        with contextlib.suppress(OSError):
            path.unlink()
