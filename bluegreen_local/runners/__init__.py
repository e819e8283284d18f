"""Which runner serves the app (app.runner), and which port each slot uses."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Final

from bluegreen_local.config import Config
from bluegreen_local.config.model import AppConfig
from bluegreen_local.model.types import RunnerKind, Slot
from bluegreen_local.runners.base import Runner
from bluegreen_local.runners.process import ProcessRunner

# One entry per RunnerKind; the config reader refuses any other value of app.runner.
RUNNERS: Final[dict[RunnerKind, Callable[[AppConfig, Path], Runner]]] = {
    RunnerKind.PROCESS: ProcessRunner,
}


def make_runner(config: Config) -> Runner:
    return RUNNERS[config.app.runner](config.app, config.state_dir)


def slot_port(config: Config, slot: Slot) -> int:
    return config.app.ports[0] if slot is Slot.BLUE else config.app.ports[1]
