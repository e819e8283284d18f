"""Docker fixtures: one private engine per session, a project whose app runs in containers."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest
from docker.models.containers import Container
from helpers import require_tool
from integration.conftest import _kill_leftovers, _names, nginx_bin  # noqa: F401
from integration.support import Project, free_ports

from docker_tests import engine as engine_mod
from docker_tests.engine import Engine


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    """dockerd on a private socket, stopped by pid (and every container removed) at the end."""
    dockerd = require_tool("dockerd")
    require_tool("busybox")
    root = Path(tempfile.mkdtemp(prefix="bgd-"))
    started = engine_mod.start(root, dockerd)
    try:
        yield started
    finally:
        engine_mod.stop(started)


@dataclass
class DockerProject(Project):
    """A project with app.runner = "docker" against the test engine."""

    engine_url: str = ""  # what the config names (a test may point it elsewhere)
    real_url: str = ""  # the test engine, for the test's own look
    docker_extra: str = ""
    resources: str = ""
    network: str = "host"

    def write_config(self, *, app_args: str = "", deadline: str = "15s", nginx: str = "",
                     drain: str = 'timeout = "10s"', stop_timeout: str = "5s") -> None:
        self.config.write_text(f"""
state_dir = "{self.state_dir}"
[app]
name = "dtest"
runner = "docker"
ports = [{self.ports[0]}, {self.ports[1]}]
stop_timeout = "{stop_timeout}"
[docker]
image = "bgtest:{{version}}"
network = "{self.network}"
pull = "never"
restart = "no"
host = "{self.engine_url}"
{self.docker_extra}
[resources]
{self.resources}
[health]
interval = "50ms"
deadline = "{deadline}"
[nginx]
binary = "{self.nginx_bin}"
listen = "127.0.0.1:{self.listen_port}"
{nginx}
[drain]
{drain}
""")

    def containers(self) -> list[Container]:
        client = docker.DockerClient(base_url=self.real_url, version="1.41")
        label = f"io.bluegreen.state_dir={self.state_dir}"
        return list(client.containers.list(all=True, filters={"label": label}))


@pytest.fixture
def dproject(nginx_bin: str, engine: Engine) -> Iterator[DockerProject]:  # noqa: F811
    root = Path(tempfile.mkdtemp(prefix="bg-"))
    blue, green, listen = free_ports(3)
    proj = DockerProject(root, nginx_bin, (blue, green), listen, engine_url=engine.url,
                          real_url=engine.url)
    proj.write_config()
    try:
        yield proj
    finally:
        proj.cli("down")
        for container in proj.containers():
            with contextlib.suppress(docker.errors.APIError):
                container.remove(force=True)
        if (master := proj.nginx_pid()) is not None and _names(master, proj.state_dir):
            _kill_leftovers({master})
        shutil.rmtree(root, ignore_errors=True)
