"""Which runner serves the app (app.runner), and which port each slot uses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from bluegreen_local.config import Config
from bluegreen_local.model.types import RunnerKind, Slot
from bluegreen_local.runners.base import Runner
from bluegreen_local.runners.process import ProcessRunner


def _docker(config: Config) -> Runner:
    # Imported here: the docker runner's module is only loaded for apps that use it.
    from bluegreen_local.runners.docker import DockerRunner

    if config.docker is None:  # pragma: no cover - the config reader requires [docker]
        raise ValueError("app.runner = docker without a [docker] table")
    return DockerRunner(config.app, config.state_dir, config.docker, config.resources)


# One entry per RunnerKind; the config reader refuses any other value of app.runner.
RUNNERS: Final[dict[RunnerKind, Callable[[Config], Runner]]] = {
    RunnerKind.PROCESS: lambda config: ProcessRunner(config.app, config.state_dir),
    RunnerKind.DOCKER: _docker,
}


def make_runner(config: Config) -> Runner:
    return RUNNERS[config.app.runner](config)


def slot_port(config: Config, slot: Slot) -> int:
    return config.app.ports[0] if slot is Slot.BLUE else config.app.ports[1]
