"""bluegreen.toml -> a frozen, validated Config; every problem reported once, by key."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from bluegreen_local.config.checker import Section
from bluegreen_local.config.fields import shown, trust_problem
from bluegreen_local.config.model import AppConfig, Config, DrainConfig, HealthConfig, NginxConfig
from bluegreen_local.config.network import listen_clash
from bluegreen_local.model.errors import ConfigError
from bluegreen_local.model.types import Mode, RunnerKind

CONFIG_ENV: Final = "BLUEGREEN_CONFIG"
DEFAULT_CONFIG: Final = "bluegreen.toml"
MAX_CONFIG_BYTES: Final = 1024 * 1024


def resolve_path(flag: Path | None) -> Path:
    """The config file to use: the flag, then $BLUEGREEN_CONFIG, then ./bluegreen.toml."""
    if flag is not None:
        return flag
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env)
    return Path(DEFAULT_CONFIG)


def load(flag: Path | None = None) -> Config:
    """Read and validate the config file; raise ConfigError listing every problem."""
    path = resolve_path(flag).expanduser()
    return parse(_read(path), path.resolve())


def _read(path: Path) -> str:
    """The file's text; as root, only from a file nobody but root can change (StrictModes)."""
    try:
        # Check the file that was opened, not the name: it could be swapped in between.
        with path.open("rb") as handle:
            info = os.fstat(handle.fileno())
            why = trust_problem(path, info, euid=os.geteuid(), what="config file")
            if why:
                raise ConfigError([why], shown(path))
            data = handle.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(
            [f"config file not found (looked in -c/--config, ${CONFIG_ENV}, ./{DEFAULT_CONFIG})."
             " Create one with `bluegreen init`."],
            shown(path),
        ) from None
    except OSError as exc:
        raise ConfigError([f"cannot read config file: {exc}"], shown(path)) from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError([f"config file is larger than {MAX_CONFIG_BYTES // 2**20} MiB; "
                           "is -c pointing at the right file?"], shown(path))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([f"cannot read config file: {exc}"], shown(path)) from None


def parse(text: str, path: Path) -> Config:
    """Validate TOML text read from `path` (relative paths are resolved against its folder)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"invalid TOML: {exc}"], shown(path)) from None
    except ValueError:  # tomllib refuses integers longer than Python's 4300-digit limit
        raise ConfigError(["invalid TOML: a number is too long"], shown(path)) from None
    except RecursionError:
        raise ConfigError(["invalid TOML: arrays or tables are nested too deeply"],
                          shown(path)) from None
    problems: list[str] = []
    config = _build(Section(problems, path.parent, raw), path)
    if problems or config is None:
        raise ConfigError(problems, shown(path))
    return config


def _build(top: Section, path: Path) -> Config | None:
    with top:
        app = _app(top)
        name = app.name if app else "app"
        state_dir = top.path("state_dir", default=str(default_state_dir(name)), directory=True)
        health = _health(top)
        nginx = _nginx(top, name, state_dir)
        drain = _drain(top)
    if app is None or health is None or nginx is None or state_dir is None:
        return None
    if nginx.mode is Mode.MANAGED and (clash := listen_clash(nginx.listen, app.ports)):
        top.report(clash)
    return Config(path, state_dir, app, health, nginx, drain)


def default_state_dir(app_name: str) -> Path:
    """/var/lib/bluegreen/<app> as root, else ~/.local/state/bluegreen/<app>."""
    if os.geteuid() == 0:
        return Path("/var/lib/bluegreen") / app_name
    return Path.home() / ".local/state/bluegreen" / app_name


def _app(top: Section) -> AppConfig | None:
    with top.table("app", required=True) as s:
        name = s.app_name("name")
        command = s.command_template("command", required=True)
        workdir = s.template_str("workdir")
        env = s.env_table("env")
        ports = s.port_pair("ports", (7001, 7002))
        stop_timeout = s.duration("stop_timeout", "10s")
        runner = s.choice("runner", RunnerKind, RunnerKind.PROCESS)
    if name is None or command is None or ports is None or runner is None:
        return None
    return AppConfig(name, command, workdir, env, ports, stop_timeout, runner)


def _health(top: Section) -> HealthConfig | None:
    with top.table("health") as s:
        path = s.url_path("path", "/health")
        statuses = s.statuses("expect_status")
        body = s.string("expect_body", "")
        host = s.host_header("host_header")
        interval = s.duration("interval", "100ms", minimum=0.001)
        timeout = s.duration("timeout", "2s", minimum=0.001)
        successes = s.integer("successes", 2, low=1, high=100)
        deadline = s.duration("deadline", "60s", minimum=0.001)
        scheme = s.one_of("scheme", ("http", "https"), "http")
        tls_verify = s.tls_verify("tls_verify")
        headers = s.headers("headers")
    if (path is None or statuses is None or body is None or host is None or scheme is None
            or tls_verify is None):
        return None
    return HealthConfig(path, statuses, body, host, interval, timeout, successes, deadline,
                        scheme, tls_verify, headers)


def _nginx(top: Section, app: str, state_dir: Path | None) -> NginxConfig | None:
    with top.table("nginx") as s:
        mode = s.choice("mode", Mode, Mode.MANAGED)
        binary = s.string("binary", "nginx")
        listen = s.listen("listen", "127.0.0.1:8080")
        managed = mode is not Mode.SYSTEM  # an invalid mode was reported; don't pile on
        defaults = _nginx_files(state_dir, app, managed=managed)
        admin = s.socket_path("admin_socket", defaults.admin_socket,
                              created=(defaults.prefix, defaults.prefix.parent))
        upstream = s.path("upstream_file", defaults.upstream_file,
                          parent_exists=not managed)
        if not managed and not s.given("upstream_file"):
            s.problem("upstream_file", "required in system mode (the file bluegreen owns, "
                      "included from your site's http block)")
        test = s.command("test_command", "nginx -t")
        reload = s.optional_command("reload_command")
        pid_file = s.path("pid_file", defaults.pid_file)
        error_log = s.path("error_log", defaults.error_log)
        reload_timeout = s.duration("reload_timeout", "10s", minimum=0.1)
        if mode is Mode.MANAGED:
            _system_only(s, defaults.prefix, pid_file=pid_file, error_log=error_log)
    if (mode is None or binary is None or listen is None or admin is None or upstream is None
            or test is None or pid_file is None):
        return None
    return NginxConfig(mode, binary, listen, admin, upstream, test, reload,
                       pid_file, error_log, reload_timeout)


@dataclass(frozen=True, slots=True)
class _NginxFiles:
    """Where nginx's files are unless the config says otherwise."""

    prefix: Path
    admin_socket: Path
    upstream_file: str | None  # system mode: no default, the key is required
    pid_file: str
    error_log: str


def _nginx_files(state_dir: Path | None, app: str, *, managed: bool) -> _NginxFiles:
    """In the managed nginx's prefix, or where a Debian nginx keeps them in system mode."""
    prefix = (state_dir or Path("/")) / "nginx"
    if managed:
        return _NginxFiles(prefix, prefix / "admin.sock", str(prefix / "conf/upstream.conf"),
                           str(prefix / "nginx.pid"), str(prefix / "logs/error.log"))
    return _NginxFiles(prefix, Path(f"/run/bluegreen-{app}.sock"), None, "/run/nginx.pid",
                       "/var/log/nginx/error.log")


def _system_only(s: Section, prefix: Path, **checked: Path | None) -> None:
    """The managed nginx's own files live in its prefix; watching others would mislead us."""
    for name, value in checked.items():
        if s.given(name) and value is not None:
            s.problem(name, f"only used in system mode; the managed nginx keeps it in {prefix}")


def _drain(top: Section) -> DrainConfig:
    with top.table("drain") as s:
        return DrainConfig(timeout=s.duration("timeout", "30s"))
