"""Which runner serves the app, and which port each slot uses."""

from __future__ import annotations

from bluegreen_local.config import Config
from bluegreen_local.model.types import Slot
from bluegreen_local.runners.base import Runner
from bluegreen_local.runners.process import ProcessRunner


def make_runner(config: Config) -> Runner:
    return ProcessRunner(config.app, config.state_dir)


def slot_port(config: Config, slot: Slot) -> int:
    return config.app.ports[0] if slot is Slot.BLUE else config.app.ports[1]
