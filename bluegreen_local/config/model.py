"""The validated configuration: frozen, typed, one dataclass per table."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bluegreen_local.model.types import Mode, RunnerKind


@dataclass(frozen=True, slots=True)
class AppConfig:
    name: str
    command: tuple[str, ...]
    workdir: str | None
    env: tuple[tuple[str, str], ...]
    ports: tuple[int, int]
    stop_timeout: float
    runner: RunnerKind = RunnerKind.PROCESS


@dataclass(frozen=True, slots=True)
class HealthConfig:
    path: str
    expect_status: frozenset[int]
    expect_body: str
    host_header: str
    interval: float
    timeout: float
    successes: int
    deadline: float
    scheme: str = "http"  # "http" or "https"
    # https only: True checks the certificate against the system's CAs, a Path against the
    # CA bundle in that file; False does not check it.
    tls_verify: bool | Path = True
    headers: tuple[tuple[str, str], ...] = ()  # extra request headers, in order


@dataclass(frozen=True, slots=True)
class NginxConfig:
    mode: Mode
    binary: str
    listen: str
    admin_socket: Path
    upstream_file: Path
    test_command: tuple[str, ...]
    # None: SIGHUP the master in pid_file, which is all `nginx -s reload` does after it
    # parses the whole configuration a second time.
    reload_command: tuple[str, ...] | None
    pid_file: Path
    error_log: Path | None
    reload_timeout: float


@dataclass(frozen=True, slots=True)
class DrainConfig:
    timeout: float


@dataclass(frozen=True, slots=True)
class DockerConfig:
    """How the docker runner runs a slot ([docker]); only read with app.runner = "docker"."""

    image: str  # takes {version}
    container_port: int | None  # bridge: the port the app listens on inside; None: slot port
    network: str  # "host" or "bridge"
    pull: str  # "missing", "always" or "never"
    restart: str  # docker's restart policy name
    command: tuple[str, ...] | None  # argv that replaces the image's CMD; takes placeholders
    user: str | None
    read_only: bool
    volumes: tuple[str, ...]  # validated "host:container[:ro]" entries
    host: str | None  # the engine's address; None: $DOCKER_HOST, then the local socket


@dataclass(frozen=True, slots=True)
class ResourcesConfig:
    """Per-slot limits ([resources]); applied by the docker runner."""

    memory: int | None = None  # bytes
    cpus: float | None = None
    pids: int | None = None


@dataclass(frozen=True, slots=True)
class CapacityConfig:
    """The memory check before a second version starts ([capacity])."""

    check: bool = True
    headroom: float = 1.2


@dataclass(frozen=True, slots=True)
class DeployConfig:
    keep_old: float = 0.0  # seconds the old slot stays warm after a switch; 0 stops it


@dataclass(frozen=True, slots=True)
class Config:
    path: Path
    state_dir: Path
    app: AppConfig
    health: HealthConfig
    nginx: NginxConfig
    drain: DrainConfig
    docker: DockerConfig | None = None  # set when app.runner = "docker"
    resources: ResourcesConfig = ResourcesConfig()
    capacity: CapacityConfig = CapacityConfig()
    deploy: DeployConfig = DeployConfig()

    @property
    def nginx_prefix(self) -> Path:
        """The managed nginx's prefix directory (unused in system mode)."""
        return self.state_dir / "nginx"
