"""Runner selection and the process runner's handles: identity, port ownership, strays."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from helpers import LISTENER, free_port, poll

from bluegreen_local import config
from bluegreen_local.model.types import Instance, ProcessHandle, RunnerKind, Slot
from bluegreen_local.runners import RUNNERS, make_runner
from bluegreen_local.runners.process import ProcessRunner


@pytest.fixture
def cfg(tmp_path: Path) -> config.Config:
    (tmp_path / "listen.py").write_text(LISTENER)
    ports = (free_port(), free_port())
    text = (f'state_dir = "{tmp_path}/st"\n[app]\nname = "web"\n'
            f'command = "{sys.executable} {tmp_path}/listen.py {{port}}"\n'
            f"ports = [{ports[0]}, {ports[1]}]\n")
    return config.parse(text, tmp_path / "bluegreen.toml")


@pytest.fixture
def started(cfg: config.Config) -> Iterator[list[Instance]]:
    """Instances a test starts; each is stopped afterwards, by its handle."""
    runner = make_runner(cfg)
    instances: list[Instance] = []
    yield instances
    for inst in instances:
        runner.stop(inst, 2.0)


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_every_runner_kind_has_a_runner(cfg: config.Config) -> None:
    assert set(RUNNERS) == set(RunnerKind)
    runner = make_runner(cfg)
    assert isinstance(runner, ProcessRunner) and runner.kind is RunnerKind.PROCESS


def test_an_instance_is_its_handle_not_its_pid(cfg: config.Config,
                                               started: list[Instance]) -> None:
    runner = make_runner(cfg)
    inst = runner.start(Slot.BLUE, cfg.app.ports[0], "v1")
    started.append(inst)
    assert isinstance(inst.handle, ProcessHandle)
    assert inst.role is None and inst.handle.pid > 0
    assert runner.alive(inst)
    # The same pid with another start time is another process (a reused pid): not ours.
    reused = Instance(inst.slot, inst.port, inst.version, inst.started_at,
                      ProcessHandle(inst.handle.pid, inst.handle.create_time - 100))
    assert not runner.alive(reused)
    assert runner.memory(reused) is None and (runner.memory(inst) or 0) > 0
    assert runner.log_path(Slot.BLUE) == cfg.state_dir / "logs/blue.log"
    runner.stop(inst, 2.0)
    assert not runner.alive(inst) and not psutil.pid_exists(inst.handle.pid)


def test_port_holder_knows_our_instance_from_a_stranger(cfg: config.Config,
                                                        started: list[Instance]) -> None:
    runner = make_runner(cfg)
    port = cfg.app.ports[1]
    assert runner.port_holder(port, []) is None, "nobody listens"
    inst = runner.start(Slot.GREEN, port, "v2")
    started.append(inst)
    poll(lambda: listening(port), what=f"the instance to listen on {port}")
    assert runner.port_holder(port, [inst]) == inst
    assert runner.port_holder(port, []) is None, "not among the instances asked about"
    with socket.socket() as stranger:
        stranger.bind(("127.0.0.1", 0))
        stranger.listen()
        assert runner.port_holder(stranger.getsockname()[1], [inst]) is None


def test_strays_are_our_unrecorded_instances(cfg: config.Config,
                                             started: list[Instance]) -> None:
    runner = make_runner(cfg)
    recorded = runner.start(Slot.BLUE, cfg.app.ports[0], "v1")
    lost = runner.start(Slot.GREEN, cfg.app.ports[1], "v2")
    started.extend([recorded, lost])
    strays = runner.strays([recorded])
    assert [(s.slot, s.port, s.version, s.handle.pid) for s in strays] == [
        (Slot.GREEN, cfg.app.ports[1], "v2", lost.handle.pid)]
    assert runner.alive(strays[0]), "a stray's handle finds the process"
    assert runner.strays([recorded, lost]) == []
