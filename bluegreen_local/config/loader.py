"""bluegreen.toml -> a frozen, validated Config; every problem reported once, by key."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Final

from bluegreen_local.config.checker import Checker
from bluegreen_local.config.fields import shown, trust_problem
from bluegreen_local.config.model import AppConfig, Config, DrainConfig, HealthConfig, NginxConfig
from bluegreen_local.model.errors import ConfigError
from bluegreen_local.model.types import Mode

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
    checker = Checker(base=path.parent)
    config = _build(checker, raw, path)
    if checker.problems or config is None:
        raise ConfigError(checker.problems, shown(path))
    return config


def _build(c: Checker, raw: dict[str, object], path: Path) -> Config | None:
    c.known_keys("", raw, {"state_dir", "app", "health", "nginx", "drain"})
    app = _app(c, c.table(raw, "app", required=True))
    name = app.name if app else "app"
    state_dir = c.path(raw, "state_dir", default=str(default_state_dir(name)), directory=True)
    health = _health(c, c.table(raw, "health"))
    nginx = _nginx(c, c.table(raw, "nginx"), name, state_dir)
    drain_raw = c.table(raw, "drain")
    c.known_keys("drain", drain_raw, {"timeout"})
    drain = DrainConfig(timeout=c.duration(drain_raw, "drain.timeout", "30s"))
    if app is None or health is None or nginx is None or state_dir is None:
        return None
    if nginx.mode is Mode.MANAGED:
        c.listen_differs_from_slots(nginx.listen, app.ports)
    return Config(path, state_dir, app, health, nginx, drain)


def default_state_dir(app_name: str) -> Path:
    """/var/lib/bluegreen/<app> as root, else ~/.local/state/bluegreen/<app>."""
    if os.geteuid() == 0:
        return Path("/var/lib/bluegreen") / app_name
    return Path.home() / ".local/state/bluegreen" / app_name


def _app(c: Checker, raw: dict[str, object]) -> AppConfig | None:
    c.known_keys("app", raw, {"name", "command", "workdir", "env", "ports", "stop_timeout"})
    name = c.app_name(raw, "app.name")
    command = c.command_template(raw, "app.command", required=True)
    workdir = c.template_str(raw, "app.workdir")
    env = c.env_table(raw, "app.env")
    ports = c.port_pair(raw, "app.ports", (7001, 7002))
    stop_timeout = c.duration(raw, "app.stop_timeout", "10s")
    if name is None or command is None or ports is None:
        return None
    return AppConfig(name, command, workdir, env, ports, stop_timeout)


def _health(c: Checker, raw: dict[str, object]) -> HealthConfig | None:
    c.known_keys("health", raw, {"path", "expect_status", "expect_body", "host_header",
                                 "interval", "timeout", "successes", "deadline"})
    path = c.url_path(raw, "health.path", "/health")
    statuses = c.statuses(raw, "health.expect_status")
    body = c.string(raw, "health.expect_body", "")
    host = c.host_header(raw, "health.host_header")
    interval = c.duration(raw, "health.interval", "100ms", minimum=0.001)
    timeout = c.duration(raw, "health.timeout", "2s", minimum=0.001)
    successes = c.integer(raw, "health.successes", 2, low=1, high=100)
    deadline = c.duration(raw, "health.deadline", "60s", minimum=0.001)
    if path is None or statuses is None or body is None or host is None:
        return None
    return HealthConfig(path, statuses, body, host, interval, timeout, successes, deadline)


def _nginx(
    c: Checker, raw: dict[str, object], app: str, state_dir: Path | None
) -> NginxConfig | None:
    c.known_keys("nginx", raw, {"mode", "binary", "listen", "admin_socket", "upstream_file",
                                "test_command", "reload_command", "pid_file", "error_log",
                                "reload_timeout"})
    mode = c.choice(raw, "nginx.mode", Mode, Mode.MANAGED)
    binary = c.string(raw, "nginx.binary", "nginx")
    listen = c.listen(raw, "nginx.listen", "127.0.0.1:8080")
    managed = mode is not Mode.SYSTEM  # an invalid mode was reported; don't pile on
    prefix = (state_dir or Path("/")) / "nginx"
    admin_default = prefix / "admin.sock" if managed else Path(f"/run/bluegreen-{app}.sock")
    admin = c.socket_path(raw, "nginx.admin_socket", admin_default,
                          created=(prefix, prefix.parent))
    upstream_default = prefix / "conf/upstream.conf" if managed else None
    upstream = c.path(raw, "nginx.upstream_file", _opt(upstream_default), parent_exists=not managed)
    if not managed and "upstream_file" not in raw:
        c.problem("nginx.upstream_file: required in system mode (the file bluegreen owns, "
                  "included from your site's http block)")
    test = c.command(raw, "nginx.test_command", "nginx -t")
    reload = c.optional_command(raw, "nginx.reload_command")
    pid_default = prefix / "nginx.pid" if managed else Path("/run/nginx.pid")
    pid_file = c.path(raw, "nginx.pid_file", str(pid_default))
    log_default = prefix / "logs/error.log" if managed else Path("/var/log/nginx/error.log")
    error_log = c.path(raw, "nginx.error_log", str(log_default))
    reload_timeout = c.duration(raw, "nginx.reload_timeout", "10s", minimum=0.1)
    if mode is Mode.MANAGED:
        _system_only(c, raw, prefix, pid_file=pid_file, error_log=error_log)
    if (mode is None or binary is None or listen is None or admin is None or upstream is None
            or test is None or pid_file is None):
        return None
    return NginxConfig(mode, binary, listen, admin, upstream, test, reload,
                       pid_file, error_log, reload_timeout)


def _system_only(c: Checker, raw: dict[str, object], prefix: Path,
                 **checked: Path | None) -> None:
    """The managed nginx's own files live in its prefix; watching others would mislead us."""
    for key, value in checked.items():
        if key in raw and value is not None:
            c.problem(f"nginx.{key}: only used in system mode; the managed nginx keeps it "
                      f"in {prefix}")


def _opt(path: Path | None) -> str | None:
    return None if path is None else str(path)
