"""What a slot process starts with: argv, working directory and environment, placeholders
expanded, and the program that argv[0] names."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from bluegreen_local.config.model import AppConfig
from bluegreen_local.model.types import Slot
from bluegreen_local.util.which import Program, find_program

# Slot processes carry their app's state dir (and name) in their environment: a run killed
# before it recorded a pid still finds its process, and another app's deploy can name it.
MARKER: Final = "BLUEGREEN_STATE_DIR"
APP_MARKER: Final = "BLUEGREEN_APP"


@dataclass(frozen=True, slots=True)
class Launch:
    """One slot's command line, working directory and whole environment."""

    argv: tuple[str, ...]
    workdir: str | None
    env: Mapping[str, str]

    def program(self) -> Program:
        """argv[0] as exec will find it: on the app's PATH, or from its working directory."""
        return find_program(self.argv[0], search_path=self.env.get("PATH", os.defpath),
                            cwd=Path(self.workdir) if self.workdir else None)


def expand(app: AppConfig, state_dir: Path, slot: Slot, port: int, version: str) -> Launch:
    """{port}, {version} and {slot} filled in wherever the config allows them."""
    values = {"port": str(port), "version": version, "slot": slot.value}
    argv = tuple(part.format(**values) for part in app.command)
    workdir = app.workdir.format(**values) if app.workdir else None
    env = {**os.environ, **{k: v.format(**values) for k, v in app.env},
           "PORT": str(port), "BLUEGREEN_VERSION": version, "BLUEGREEN_SLOT": slot.value,
           MARKER: str(state_dir), APP_MARKER: app.name}
    return Launch(argv, workdir, env)
