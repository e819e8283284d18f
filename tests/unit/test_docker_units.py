"""The docker runner's pure parts: its config tables, the container handle in state, the
create arguments, sizes and the capacity figure."""

from __future__ import annotations

from pathlib import Path

import pytest

from bluegreen_local import config
from bluegreen_local import store as state
from bluegreen_local.engine import capacity
from bluegreen_local.model.errors import CapacityError, ConfigError, ExitCode
from bluegreen_local.model.types import ContainerHandle, Instance, Role, RunnerKind, Slot
from bluegreen_local.runners import containers
from bluegreen_local.store.state import State
from bluegreen_local.util.sizes import parse_size, show_size

DOCKER = ('[app]\nname = "web"\nrunner = "docker"\n'
          '[docker]\nimage = "registry.local/web:{version}"\n')
PATH = Path("/tmp/x/bluegreen.toml")


def problems_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        config.parse(text, PATH)
    return caught.value.problems


def test_docker_config_is_read_with_its_defaults() -> None:
    cfg = config.parse(DOCKER + '[resources]\nmemory = "512M"\ncpus = 1.5\npids = 256\n', PATH)
    assert cfg.app.runner is RunnerKind.DOCKER and cfg.docker is not None
    assert (cfg.docker.network, cfg.docker.pull, cfg.docker.restart) == \
        ("host", "missing", "unless-stopped")
    assert (cfg.resources.memory, cfg.resources.cpus, cfg.resources.pids) == \
        (512 * 2**20, 1.5, 256)
    assert cfg.capacity.check is True and cfg.capacity.headroom == 1.2


def test_resources_need_the_docker_runner() -> None:
    text = '[app]\nname = "web"\ncommand = "app"\n[resources]\nmemory = "512M"\n'
    assert problems_of(text) == ["resources.memory: needs app.runner = \"docker\" (the process "
                                 "runner cannot limit a slot yet); remove it or switch runners"]


@pytest.mark.parametrize(("line", "problem"), [
    ('volumes = ["relative:/data"]', "docker.volumes: 'relative:/data' is not"),
    ('volumes = ["/a/../etc:/data"]', "docker.volumes: '/a/../etc:/data' is not"),
    ('network = "overlay"', "docker.network: must be one of"),
    ('user = "root; rm -rf /"', "docker.user: must be a user name"),
    ("command = []", "docker.command: must not be empty"),
    ('command = ["app", "{nope}"]', "docker.command: unknown placeholder {nope}"),
])
def test_bad_docker_keys_are_refused(line: str, problem: str) -> None:
    assert any(p.startswith(problem) for p in problems_of(DOCKER + line + "\n"))


def test_docker_runner_needs_an_image_and_no_app_command() -> None:
    found = problems_of('[app]\nname = "web"\nrunner = "docker"\ncommand = "x"\n')
    assert found[0].startswith("app.command: the docker runner runs [docker] image")
    assert any(p.startswith("docker.image: required") for p in found)


def test_a_container_handle_survives_the_state_file(tmp_path: Path) -> None:
    inst = Instance(Slot.BLUE, 7001, "v1", 1.5, ContainerHandle("ab" * 32, "bluegreen-web-blue",
                                                                 999), role=Role.LIVE)
    value = State(generation=1, token="1-00000000", live=inst.release, instances=(inst,))
    state.save(tmp_path, value)
    assert state.load(tmp_path) == value


def test_create_args_publish_on_loopback_and_carry_limits() -> None:
    cfg = config.parse(DOCKER + 'network = "bridge"\ncontainer_port = 8080\n'
                       '[resources]\nmemory = "64M"\ncpus = 0.5\n', PATH)
    assert cfg.docker is not None
    args = containers.create_args(cfg.app, cfg.docker, cfg.resources, Path("/s"),
                                  (Slot.GREEN, 7002, "v2"))
    assert args["ports"] == {"8080/tcp": ("127.0.0.1", 7002)} and "network_mode" not in args
    assert args["mem_limit"] == 64 * 2**20 and args["nano_cpus"] == 500_000_000
    assert args["labels"]["io.bluegreen.state_dir"] == "/s"
    assert args["environment"]["PORT"] == "8080" and args["name"] == "bluegreen-web-green"
    assert containers.image_ref(cfg.docker, Slot.GREEN, 7002, "v2") == "registry.local/web:v2"


def test_engine_url_prefers_the_config_then_docker_host() -> None:
    cfg = config.parse(DOCKER, PATH)
    assert cfg.docker is not None
    assert containers.engine_url(cfg.docker, {"DOCKER_HOST": "tcp://h:2375"}) == "tcp://h:2375"
    assert containers.engine_url(cfg.docker, {}) == containers.DEFAULT_HOST


@pytest.mark.parametrize(("text", "size"), [("512M", 512 * 2**20), ("1.5G", 3 * 2**29),
                                            ("2GiB", 2 * 2**30), ("65536", 65536),
                                            ("lots", None), ("5Mi", None)])
def test_sizes(text: str, size: int | None) -> None:
    assert parse_size(text) == size


def test_capacity_figures() -> None:
    assert capacity.mem_available("MemTotal: 100 kB\nMemAvailable:  2048 kB\n") == 2 * 2**20
    assert capacity.mem_available("MemTotal: 100 kB\n") is None
    assert show_size(int(1.4 * 2**30)) == "1.4 GiB"
    cfg = config.parse(DOCKER, PATH)
    assert capacity.need_of(cfg, 1000) == (1200, "the live slot's memory x 1.2")
    assert not capacity.Capacity(1201, 1200, "x").fits and capacity.Capacity(None, 1, "").fits
    assert CapacityError.exit_code is ExitCode.CAPACITY and int(ExitCode.CAPACITY) == 9
