"""What the docker runner asks the engine for, decided apart from asking: the container's
name, labels and create arguments (pure), and the one way we connect to the engine."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from bluegreen_local.config.model import AppConfig, DockerConfig, ResourcesConfig
from bluegreen_local.model.errors import EnvironmentFault
from bluegreen_local.model.types import Slot
from bluegreen_local.runners.launch import APP_MARKER, MARKER

if TYPE_CHECKING:  # the SDK is imported when a docker command runs, not by every command
    import docker

LABEL: Final = "io.bluegreen"
LABEL_STATE_DIR: Final = f"{LABEL}.state_dir"
DEFAULT_HOST: Final = "unix:///var/run/docker.sock"
API_TIMEOUT: Final = 60  # seconds; a pull or a stop with a long grace stays below it


def container_name(app: AppConfig, slot: Slot) -> str:
    return f"bluegreen-{app.name}-{slot.value}"


def labels(app: AppConfig, state_dir: Path, slot: Slot, port: int,
           version: str) -> dict[str, str]:
    """What finds our containers after a crash and tells them from everybody else's."""
    return {f"{LABEL}.app": app.name, f"{LABEL}.slot": slot.value, f"{LABEL}.port": str(port),
            f"{LABEL}.version": version, LABEL_STATE_DIR: str(state_dir)}


def image_ref(docker_cfg: DockerConfig, slot: Slot, port: int, version: str) -> str:
    return docker_cfg.image.format(version=version, port=port, slot=slot.value)


def create_args(app: AppConfig, docker_cfg: DockerConfig, limits: ResourcesConfig,
                state_dir: Path, release: tuple[Slot, int, str]) -> dict[str, Any]:
    """The keyword arguments of containers.run for one slot (besides detach): every value
    from validated config, none through a shell. Any: the SDK's own keyword types."""
    slot, port, version = release
    values = {"port": str(port), "version": version, "slot": slot.value}
    inside = docker_cfg.container_port or port
    env = {**{k: v.format(**values) for k, v in app.env}, "PORT": str(inside),
           "BLUEGREEN_VERSION": version, "BLUEGREEN_SLOT": slot.value,
           MARKER: str(state_dir), APP_MARKER: app.name}
    args: dict[str, Any] = {
        "name": container_name(app, slot), "environment": env,
        "labels": labels(app, state_dir, slot, port, version),
        "restart_policy": {"Name": docker_cfg.restart}, "read_only": docker_cfg.read_only,
        "volumes": list(docker_cfg.volumes),
    }
    if docker_cfg.network == "host":
        args["network_mode"] = "host"
    else:  # published on loopback only: nginx is the one way in
        args["ports"] = {f"{inside}/tcp": ("127.0.0.1", port)}
    if docker_cfg.command is not None:
        args["command"] = [part.format(**values) for part in docker_cfg.command]
    if docker_cfg.user is not None:
        args["user"] = docker_cfg.user
    args.update(limit_args(limits))
    return args


def limit_args(limits: ResourcesConfig) -> dict[str, object]:
    """[resources] as the engine's HostConfig takes them."""
    args: dict[str, object] = {}
    if limits.memory is not None:
        args["mem_limit"] = limits.memory
        args["memswap_limit"] = limits.memory  # no swap beyond the limit: it is a limit
    if limits.cpus is not None:
        args["nano_cpus"] = round(limits.cpus * 1e9)
    if limits.pids is not None:
        args["pids_limit"] = limits.pids
    return args


def engine_url(docker_cfg: DockerConfig, environ: Mapping[str, str] = os.environ) -> str:
    """[docker] host, then $DOCKER_HOST, then the local socket."""
    return docker_cfg.host or environ.get("DOCKER_HOST") or DEFAULT_HOST


def connect(docker_cfg: DockerConfig) -> docker.DockerClient:
    """A client that answered a ping, or EnvironmentFault naming the address tried."""
    import docker

    url = engine_url(docker_cfg)
    try:
        client = docker.DockerClient(base_url=url, timeout=API_TIMEOUT)
        client.ping()
    except (docker.errors.DockerException, OSError) as exc:  # requests' errors are OSErrors
        raise EnvironmentFault(
            failed=f"the docker engine at {url} is unreachable ({_first_line(exc)}).",
            unchanged="Nothing was changed.",
            next_step="Start dockerd, or point [docker] host or $DOCKER_HOST at it.",
        ) from None
    return client


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
