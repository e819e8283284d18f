"""bluegreen.toml -> a frozen, validated Config; every problem reported once, by key."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from bluegreen_local.config.checker import Section
from bluegreen_local.config.containers import read_capacity, read_docker, read_resources
from bluegreen_local.config.fields import shown, trust_problem
from bluegreen_local.config.model import (
    AppConfig,
    Config,
    DeployConfig,
    DrainConfig,
    HealthConfig,
    NginxConfig,
)
from bluegreen_local.config.network import listen_clash
from bluegreen_local.config.reader import KeyDoc
from bluegreen_local.model.errors import ConfigError
from bluegreen_local.model.types import Mode, RunnerKind

CONFIG_ENV: Final = "BLUEGREEN_CONFIG"
DEFAULT_CONFIG: Final = "bluegreen.toml"
MAX_CONFIG_BYTES: Final = 1024 * 1024
# Defaults computed from other values, in the words the reference table shows.
DEFAULT_STATE_DIRS: Final = ("`/var/lib/bluegreen/<app>` as root, else "
                             "`~/.local/state/bluegreen/<app>`")
ADMIN_SOCKET: Final = "admin.sock"  # in the managed nginx's prefix, <state_dir>/nginx
UPSTREAM_FILE: Final = "conf/upstream.conf"
MANAGED_ADMIN: Final = f"<state_dir>/nginx/{ADMIN_SOCKET}"
MANAGED_UPSTREAM: Final = f"<state_dir>/nginx/{UPSTREAM_FILE}"
# Where Debian's nginx keeps them.
SYSTEM_ADMIN: Final = "/run/bluegreen-<app>.sock"
SYSTEM_PID_FILE: Final = "/run/nginx.pid"
SYSTEM_ERROR_LOG: Final = "/var/log/nginx/error.log"


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
        state_dir = top.path("state_dir", default=str(default_state_dir(name)), directory=True,
                             doc="where state, history, the lock, slot logs and the managed "
                                 "nginx live", shown=DEFAULT_STATE_DIRS)
        health = _health(top)
        nginx = _nginx(top, name, state_dir)
        drain = _drain(top)
        runner = app.runner if app else None
        docker = read_docker(top, runner)
        resources = read_resources(top, runner)
        capacity = read_capacity(top)
        deploy = _deploy(top)
    if app is None or health is None or nginx is None or state_dir is None:
        return None
    if nginx.mode is Mode.MANAGED and (clash := listen_clash(nginx.listen, app.ports)):
        top.report(clash)
    if app.runner is RunnerKind.DOCKER and docker is None:
        return None
    return Config(path, state_dir, app, health, nginx, drain, docker, resources, capacity,
                  deploy)


def key_docs() -> tuple[KeyDoc, ...]:
    """Every key with its doc and default, in reading order: reading an empty document
    runs every getter, and each getter records its key."""
    top = Section([], Path("/"), {})
    _build(top, Path("/bluegreen.toml"))
    return tuple(top.docs.values())


def default_state_dir(app_name: str) -> Path:
    """/var/lib/bluegreen/<app> as root, else ~/.local/state/bluegreen/<app>."""
    if os.geteuid() == 0:
        return Path("/var/lib/bluegreen") / app_name
    return Path.home() / ".local/state/bluegreen" / app_name


def _app(top: Section) -> AppConfig | None:
    with top.table("app", required=True, doc="the app and how one slot of it runs") as s:
        name = s.app_name("name", doc="the app's name (1-63 of a-z 0-9 _ -); names the "
                          "upstream and the default state dir")
        command = s.command_template("command", doc="starts one slot (required with the "
                                     "process runner): split "
                                     "like a shell would, run without one; takes {port}, "
                                     "{version} and {slot}")
        workdir = s.template_str("workdir", doc="the command's working directory (not set: "
                                 "the current one); takes placeholders")
        env = s.env_table("env", doc="extra environment variables; values take placeholders; "
                          "PORT, BLUEGREEN_VERSION and BLUEGREEN_SLOT are always set")
        ports = s.port_pair("ports", (7001, 7002), doc="the slots' ports [blue, green], on "
                            "127.0.0.1; any two distinct ports")
        stop_timeout = s.duration("stop_timeout", "10s", doc="SIGTERM grace before SIGKILL "
                                  "when a slot stops")
        runner = s.choice("runner", RunnerKind, RunnerKind.PROCESS, doc="how a slot runs: "
                          "\"process\" runs the command as a process tree, \"docker\" a "
                          "container of [docker] image")
    docker = runner is RunnerKind.DOCKER
    if runner is RunnerKind.PROCESS and not s.given("command"):
        s.problem("command", "required")
    if docker and s.given("command"):
        s.problem("command", "the docker runner runs [docker] image; set docker.command to "
                  "replace the image's CMD")
    if name is None or (command is None and not docker) or ports is None or runner is None:
        return None
    return AppConfig(name, command or (), workdir, env, ports, stop_timeout, runner)


def _health(top: Section) -> HealthConfig | None:
    with top.table("health", doc="how a new version proves it is healthy before it "
                   "takes traffic") as s:
        path = s.url_path("path", "/health", doc="the URL path each probe GETs")
        statuses = s.statuses("expect_status", doc="statuses that pass: codes, a class like "
                              "\"2xx\" or a range like \"200-299\"")
        body = s.string("expect_body", "", doc="a substring the first 4 KiB of the body must "
                        "hold (empty: any body)")
        host = s.host_header("host_header", doc="the probe's Host header and TLS name (empty: "
                             "127.0.0.1:PORT)")
        interval = s.duration("interval", "100ms", minimum=0.001, doc="the longest pause "
                              "between probes (they start 10 ms apart)")
        timeout = s.duration("timeout", "2s", minimum=0.001, doc="the time one probe may "
                             "take, the whole request")
        successes = s.integer("successes", 2, low=1, high=100, doc="consecutive passes "
                              "needed (1-100)")
        deadline = s.duration("deadline", "60s", minimum=0.001, doc="then give up; traffic "
                              "stays where it was")
        scheme = s.one_of("scheme", ("http", "https"), "http", doc="\"https\" for an app "
                          "that serves TLS itself")
        tls_verify = s.tls_verify("tls_verify", doc="https: true checks the certificate "
                                  "against the system CAs, a path against that CA file; false "
                                  "does not")
        headers = s.headers("headers", doc="extra request headers (not Host, see host_header; "
                            "not the framing ones)")
    if (path is None or statuses is None or body is None or host is None or scheme is None
            or tls_verify is None):
        return None
    return HealthConfig(path, statuses, body, host, interval, timeout, successes, deadline,
                        scheme, tls_verify, headers)


def _nginx(top: Section, app: str, state_dir: Path | None) -> NginxConfig | None:
    with top.table("nginx", doc="the nginx in front of the slots: a private one, or "
                   "yours") as s:
        mode = s.choice("mode", Mode, Mode.MANAGED, doc="\"managed\": a private nginx under "
                        "the state dir; \"system\": your nginx, which includes upstream_file")
        binary = s.program("binary", "nginx", doc="managed mode: the nginx program; a bare "
                           "name is looked up on PATH, then in /usr/sbin and /usr/local/sbin")
        listen = s.listen("listen", "127.0.0.1:8080", doc="managed mode: the public "
                          "listener, HOST:PORT (a bare port means 127.0.0.1)")
        managed = mode is not Mode.SYSTEM  # an invalid mode was reported; don't pile on
        defaults = _nginx_files(state_dir, app, managed=managed)
        admin = s.socket_path("admin_socket", defaults.admin_socket,
                              created=(defaults.prefix, defaults.prefix.parent),
                              doc="the unix socket where nginx serves the generation it "
                                  "loaded", shown=f"`{MANAGED_ADMIN}` (managed), "
                                                  f"`{SYSTEM_ADMIN}` (system)")
        upstream = s.path("upstream_file", defaults.upstream_file, parent_exists=not managed,
                          doc="the upstream file bluegreen writes (system mode: include it "
                              "in the http block)",
                          shown=f"`{MANAGED_UPSTREAM}` (managed); required in system mode")
        if not managed and not s.given("upstream_file"):
            s.problem("upstream_file", "required in system mode (the file bluegreen owns, "
                      "included from your site's http block)")
        test = s.command("test_command", "nginx -t", doc="system mode: tests the nginx "
                         "configuration (its program is looked up like binary)")
        reload = s.optional_command("reload_command", doc="system mode: reloads nginx (not "
                                    "set: SIGHUP to the master in pid_file)")
        pid_file = s.path("pid_file", defaults.pid_file, doc="system mode: the nginx "
                          "master's pid file", shown=f"`{SYSTEM_PID_FILE}`")
        error_log = s.path("error_log", defaults.error_log, doc="system mode: the log "
                           "checked for [emerg] and [alert] after a reload",
                           shown=f"`{SYSTEM_ERROR_LOG}`")
        reload_timeout = s.duration("reload_timeout", "10s", minimum=0.1, doc="the longest "
                                    "wait for nginx to serve the new generation")
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
        return _NginxFiles(prefix, prefix / ADMIN_SOCKET, str(prefix / UPSTREAM_FILE),
                           str(prefix / "nginx.pid"), str(prefix / "logs/error.log"))
    return _NginxFiles(prefix, Path(SYSTEM_ADMIN.replace("<app>", app)), None,
                       SYSTEM_PID_FILE, SYSTEM_ERROR_LOG)


def _system_only(s: Section, prefix: Path, **checked: Path | None) -> None:
    """The managed nginx's own files live in its prefix; watching others would mislead us."""
    for name, value in checked.items():
        if s.given(name) and value is not None:
            s.problem(name, f"only used in system mode; the managed nginx keeps it in {prefix}")


def _drain(top: Section) -> DrainConfig:
    with top.table("drain", doc="how the old slot finishes its requests after the "
                   "switch") as s:
        return DrainConfig(timeout=s.duration("timeout", "30s", doc="the longest wait for "
                                              "the old slot's requests to finish"))


def _deploy(top: Section) -> DeployConfig:
    with top.table("deploy", doc="what happens around the switch") as s:
        return DeployConfig(keep_old=s.duration(
            "keep_old", "0s", doc="how long the old slot keeps running (warm, out of the live "
            "upstream) after a switch, so `rollback` is a flip; 0s stops it after the drain"))
