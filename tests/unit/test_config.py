"""bluegreen.toml validation: every bad field is refused with a message naming its key."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest

from bluegreen_local import config
from bluegreen_local.config import Config, loader
from bluegreen_local.config import fields as validate
from bluegreen_local.model.errors import ConfigError, ExitCode
from bluegreen_local.model.types import Mode, RunnerKind
from bluegreen_local.nginx import templating

CONFIG_PATH = Path("/tmp/x/bluegreen.toml")
APP = '[app]\nname = "web"\ncommand = "python3 app.py --port {port}"\n'
LONG_DIR = "/" + "s" * 120


def app_with(line: str) -> str:
    """The minimal [app] table plus one extra line."""
    return APP + line + "\n"


def parse(text: str) -> Config:
    return config.parse(text, CONFIG_PATH)


def problems_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse(text)
    return caught.value.problems


@pytest.fixture
def as_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bluegreen_local.config.network.os.geteuid", lambda: 0)


@pytest.fixture
def as_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bluegreen_local.config.network.os.geteuid", lambda: 1000)


BAD_CONFIGS: list[tuple[str, str, str]] = [
    # -- the document -------------------------------------------------------------------------
    ("invalid-toml", "[app\nname = 1\n", "invalid TOML: "),
    ("invalid-toml-value", APP + "ports = [7001, \n", "invalid TOML: "),
    ("unknown-top-key", APP + 'colour = "blue"\n', "colour: unknown key (allowed: "),
    ("unknown-top-table", APP + "[deplyo]\nx = 1\n", "deplyo: unknown key"),
    ("unknown-deploy-key", APP + "[deploy]\nx = 1\n", "deploy.x: unknown key"),
    ("unknown-app-key", app_with('image = "x"'), "app.image: unknown key (allowed: command,"),
    ("unknown-health-key", APP + "[health]\nurl = '/'\n", "health.url: unknown key"),
    ("unknown-nginx-key", APP + "[nginx]\nport = 80\n", "nginx.port: unknown key"),
    ("unknown-nginx-subtable", APP + "[nginx.extra]\nx = 1\n", "nginx.extra: unknown key"),
    ("unknown-drain-key", APP + "[drain]\nwait = '1s'\n", "drain.wait: unknown key"),
    ("state-dir-in-app", app_with('state_dir = "/srv"'), "app.state_dir: unknown key"),
    ("missing-app", 'state_dir = "/srv/bg"\n', "[app]: missing table"),
    ("app-not-a-table", 'app = "web"\n', "app: must be a table like [app]"),
    ("health-not-a-table", APP.replace("[app]", "health = 5\n[app]"),
     "health: must be a table like [health]"),
    # -- app.name -----------------------------------------------------------------------------
    ("missing-name", '[app]\ncommand = "x"\n', "app.name: required"),
    ("missing-command", '[app]\nname = "web"\n', "app.command: required"),
    ("name-not-string", '[app]\nname = 7\ncommand = "x"\n', "app.name: must be a string, got int"),
    ("name-semicolon", '[app]\nname = "web;x"\ncommand = "x"\n',
     "app.name: 'web;x' is not a valid name: use 1-63 characters"),
    ("name-slash", '[app]\nname = "web/x"\ncommand = "x"\n',
     "app.name: 'web/x' is not a valid name"),
    ("name-dotdot", '[app]\nname = ".."\ncommand = "x"\n', "app.name: '..' is not a valid name"),
    ("name-brace", '[app]\nname = "web{x}"\ncommand = "x"\n',
     "app.name: 'web{x}' is not a valid name"),
    ("name-space", '[app]\nname = "my app"\ncommand = "x"\n',
     "app.name: 'my app' is not a valid name"),
    ("name-newline", '[app]\nname = "web\\n"\ncommand = "x"\n',
     "app.name: 'web\\n' is not a valid name"),
    ("name-unicode", '[app]\nname = "wéb"\ncommand = "x"\n', "app.name: 'wéb' is not a valid name"),
    ("name-300-chars", f'[app]\nname = "{"a" * 300}"\ncommand = "x"\n',
     "app.name: 'aaaaaaaaaaaaaaaaaaaa"),
    ("name-64-chars", f'[app]\nname = "{"a" * 64}"\ncommand = "x"\n', "is not a valid name"),
    ("name-uppercase", '[app]\nname = "Web"\ncommand = "x"\n', "app.name: 'Web' is not a valid"),
    ("name-leading-dash", '[app]\nname = "-web"\ncommand = "x"\n',
     "app.name: '-web' is not a valid name"),
    ("name-empty", '[app]\nname = ""\ncommand = "x"\n', "app.name: '' is not a valid name"),
    ("name-nul", '[app]\nname = "w\\u0000b"\ncommand = "x"\n',
     "app.name: must not contain NUL bytes"),
    # -- app.command and placeholders ---------------------------------------------------------
    ("placeholder-unknown", '[app]\nname = "web"\ncommand = "run {foo}"\n',
     "app.command: unknown placeholder {foo}; allowed: {port} {version} {slot}"),
    ("placeholder-attribute", '[app]\nname = "web"\ncommand = "run {port.__class__}"\n',
     "app.command: unknown placeholder {port.__class__}"),
    ("placeholder-index", '[app]\nname = "web"\ncommand = "run {port[0]}"\n',
     "app.command: unknown placeholder {port[0]}"),
    ("placeholder-conversion", '[app]\nname = "web"\ncommand = "run {port!r}"\n',
     "app.command: placeholder {port!r} takes no conversion or format"),
    ("placeholder-format-spec", '[app]\nname = "web"\ncommand = "run {port:>9}"\n',
     "app.command: placeholder {port:>9} takes no conversion or format"),
    ("placeholder-positional", '[app]\nname = "web"\ncommand = "run {}"\n',
     "app.command: unknown placeholder {}"),
    ("placeholder-lone-brace", '[app]\nname = "web"\ncommand = "run {"\n',
     "app.command: malformed placeholder"),
    ("workdir-placeholder", app_with('workdir = "/srv/{release}"'),
     "app.workdir: unknown placeholder {release}"),
    ("command-empty", '[app]\nname = "web"\ncommand = ""\n',
     "app.command: must name a program to run"),
    ("command-blank", '[app]\nname = "web"\ncommand = "   "\n',
     "app.command: must name a program to run"),
    ("command-list", '[app]\nname = "web"\ncommand = ["python3", "app.py"]\n',
     "app.command: must be a string, got list"),
    ("command-unbalanced-quote", "[app]\nname = \"web\"\ncommand = 'run \"x'\n",
     "app.command: cannot be split into arguments"),
    # -- app.ports ----------------------------------------------------------------------------
    ("ports-equal", app_with("ports = [7001, 7001]"),
     "app.ports: the two ports must differ, got 7001 twice"),
    ("port-zero", app_with("ports = [0, 7002]"), "app.ports[0]: port 0 is out of range 1-65535"),
    ("port-65536", app_with("ports = [7001, 65536]"),
     "app.ports[1]: port 65536 is out of range 1-65535"),
    ("port-negative", app_with("ports = [-1, 7002]"), "app.ports[0]: port -1 is out of range"),
    ("port-string", app_with('ports = ["7001", 7002]'),
     "app.ports[0]: must be a port number, got '7001'"),
    ("port-float", app_with("ports = [7001, 7002.0]"),
     "app.ports[1]: must be a port number, got 7002.0"),
    ("port-bool", app_with("ports = [true, 7002]"),
     "app.ports[0]: must be a port number, got True"),
    ("ports-three", app_with("ports = [7001, 7002, 7003]"),
     "app.ports: must be a list of two ports [blue, green]"),
    ("ports-one", app_with("ports = [7001]"), "app.ports: must be a list of two ports"),
    ("ports-not-list", app_with("ports = 7001"), "app.ports: must be a list of two ports"),
    # -- app.env ------------------------------------------------------------------------------
    ("env-key-digit", app_with('env = { "1X" = "a" }'),
     "app.env.1X: not a valid environment variable name"),
    ("env-key-dash", app_with('env = { "A-B" = "a" }'),
     "app.env.A-B: not a valid environment variable name"),
    ("env-key-equals", app_with('env = { "A=B" = "a" }'),
     "app.env.A=B: not a valid environment variable name"),
    ("env-value-int", app_with("env = { PORTS = 1 }"),
     "app.env.PORTS: must be a string without NUL bytes"),
    ("env-value-nul", app_with('env = { X = "a\\u0000b" }'),
     "app.env.X: must be a string without NUL bytes"),
    ("env-not-table", app_with('env = "A=1"'), "app.env: must be a table of strings"),
    # -- durations ----------------------------------------------------------------------------
    ("duration-parsecs", APP + '[health]\ninterval = "10 parsecs"\n',
     "health.interval: must be a duration like \"500ms\", \"30s\", \"5m\" or a number of "
     "seconds, got '10 parsecs'"),
    ("duration-negative-string", APP + '[health]\ntimeout = "-1s"\n',
     "health.timeout: must be a duration like"),
    ("keep-old-word", APP + '[deploy]\nkeep_old = "forever"\n',
     "deploy.keep_old: must be a duration like"),
    ("keep-old-too-long", APP + '[deploy]\nkeep_old = 90000\n',
     "deploy.keep_old: must be between 0s and 24h"),
    ("duration-bool", APP + "[drain]\ntimeout = true\n",
     "drain.timeout: must be a duration like \"500ms\", \"30s\", \"5m\" or a number of seconds, "
     "got True"),
    ("duration-list", app_with('stop_timeout = ["1s"]'), "app.stop_timeout: must be a duration"),
    ("duration-unit-days", APP + '[health]\ndeadline = "1d"\n',
     "health.deadline: must be a duration like"),
    ("duration-negative-number", APP + "[drain]\ntimeout = -1\n",
     "drain.timeout: must be between 0s and 24h, got -1"),
    ("duration-zero-interval", APP + "[health]\ninterval = 0\n",
     "health.interval: must be between 0.001s and 24h, got 0"),
    ("duration-huge", APP + "[health]\ndeadline = 100000\n",
     "health.deadline: must be between 0.001s and 24h, got 100000"),
    ("duration-25h", APP + '[health]\ndeadline = "25h"\n',
     "health.deadline: must be between 0.001s and 24h, got '25h'"),
    ("duration-inf", APP + "[drain]\ntimeout = inf\n", "drain.timeout: must be a duration like"),
    ("reload-timeout-tiny", APP + '[nginx]\nreload_timeout = "10ms"\n',
     "nginx.reload_timeout: must be between 0.1s and 24h"),
    # -- health -------------------------------------------------------------------------------
    ("path-no-slash", APP + '[health]\npath = "health"\n',
     "health.path: must start with / and contain no spaces or control characters, got 'health'"),
    ("path-space", APP + '[health]\npath = "/he alth"\n',
     "health.path: must start with / and contain no spaces"),
    ("path-newline", APP + '[health]\npath = "/h\\nHost: x"\n', "health.path: must start with /"),
    ("status-99", APP + "[health]\nexpect_status = 99\n",
     'health.expect_status: 99 is not a status (100-599), a class like "2xx"'),
    ("status-600", APP + "[health]\nexpect_status = [200, 600]\n",
     "health.expect_status: 600 is not a status"),
    ("status-7xx", APP + '[health]\nexpect_status = "7xx"\n',
     "health.expect_status: '7xx' is not a status"),
    ("status-range-reversed", APP + '[health]\nexpect_status = "299-200"\n',
     "health.expect_status: '299-200' is not a status"),
    ("status-range-too-high", APP + '[health]\nexpect_status = "500-699"\n',
     "health.expect_status: '500-699' is not a status"),
    ("status-bool", APP + "[health]\nexpect_status = true\n",
     "health.expect_status: True is not a status"),
    ("successes-zero", APP + "[health]\nsuccesses = 0\n",
     "health.successes: must be between 1 and 100, got 0"),
    ("successes-string", APP + '[health]\nsuccesses = "2"\n',
     "health.successes: must be a whole number, got '2'"),
    ("host-header-space", APP + '[health]\nhost_header = "exa mple.com"\n',
     'health.host_header: must be a host name like "example.com", got \'exa mple.com\''),
    ("host-header-crlf", APP + '[health]\nhost_header = "a.com\\r\\nX-Evil: 1"\n',
     "health.host_header: must be a host name"),
    ("host-header-slash", APP + '[health]\nhost_header = "a.com/x"\n',
     "health.host_header: must be a host name"),
    ("expect-body-not-string", APP + "[health]\nexpect_body = 1\n",
     "health.expect_body: must be a string, got int"),
    # -- nginx --------------------------------------------------------------------------------
    ("nginx-mode", APP + '[nginx]\nmode = "docker"\n',
     "nginx.mode: must be one of \"managed\", \"system\", got 'docker'"),
    ("nginx-mode-case", APP + '[nginx]\nmode = "Managed"\n', "nginx.mode: must be one of"),
    ("listen-hostname", APP + '[nginx]\nlisten = "localhost:80a"\n',
     "nginx.listen: must be HOST:PORT with an IP address, like \"127.0.0.1:8080\", "
     "got 'localhost:80a'"),
    ("listen-ipv6-unbracketed", APP + '[nginx]\nlisten = "::1:8080"\n',
     "nginx.listen: must be HOST:PORT with an IP address"),
    ("listen-ipv4-bracketed", APP + '[nginx]\nlisten = "[127.0.0.1]:8080"\n',
     "nginx.listen: must be HOST:PORT with an IP address"),
    ("listen-port-range", APP + '[nginx]\nlisten = "1.2.3.4:99999"\n',
     "nginx.listen: port 99999 is out of range 1-65535"),
    ("listen-no-port", APP + '[nginx]\nlisten = "127.0.0.1:"\n',
     "nginx.listen: must be HOST:PORT"),
    ("listen-is-slot-port", APP + '[nginx]\nlisten = "127.0.0.1:7002"\n',
     "nginx.listen: port 7002 is also a slot port in app.ports"),
    ("system-upstream-missing-dir",
     APP + '[nginx]\nmode = "system"\nupstream_file = "/nonexistent-bg-test/conf.d/x.conf"\n',
     "nginx.upstream_file: directory /nonexistent-bg-test/conf.d does not exist"),
    ("system-upstream-required", APP + '[nginx]\nmode = "system"\n',
     "nginx.upstream_file: required in system mode"),
    ("admin-socket-long", APP + f'[nginx]\nadmin_socket = "{LONG_DIR}/admin.sock"\n',
     f"nginx.admin_socket: unix socket path {LONG_DIR}/admin.sock is longer than 98 bytes"),
    ("admin-socket-long-via-state-dir", f'state_dir = "{LONG_DIR}"\n' + APP,
     "nginx.admin_socket: unix socket path"),
    ("test-command-empty", APP + '[nginx]\ntest_command = ""\n',
     "nginx.test_command: must name a program to run"),
    ("pid-file-empty", APP + '[nginx]\npid_file = ""\n', "nginx.pid_file: must be a path made of"),
    ("state-dir-not-string", "state_dir = 1\n" + APP, "state_dir: must be a string, got int"),
    ("state-dir-empty", 'state_dir = ""\n' + APP, "state_dir: must be a path made of"),
    # -- found by the hostile-input corpus: these raised instead of naming the key ------------
    ("listen-superscript-port", APP + '[nginx]\nlisten = "127.0.0.1:80\u00b2"\n',
     "nginx.listen: must be HOST:PORT with an IP address"),
    ("listen-ipv6-zone", APP + '[nginx]\nlisten = "[fe80::1%lo;}]:8080"\n',
     "nginx.listen: must be HOST:PORT with an IP address"),
    ("state-dir-unknown-user", 'state_dir = "~no-such-user-bg/x"\n' + APP,
     "state_dir: cannot expand '~no-such-user-bg/x': no such user's home directory"),
    ("duration-beyond-float", APP + "[drain]\ntimeout = " + "9" * 400 + "\n",
     "drain.timeout: must be between 0s and 24h, got 9999"),
    ("toml-number-too-long", APP + "[health]\nsuccesses = " + "9" * 5000 + "\n",
     "invalid TOML: a number is too long"),
    ("toml-nested-too-deep", APP + "x = " + "[" * 5000 + "]" * 5000 + "\n",
     "invalid TOML: arrays or tables are nested too deeply"),
    ("unknown-key-control-chars", APP + '"\\u001b[2J" = 1\n',
     "'\\x1b[2J': unknown key"),
    ("env-key-control-chars", app_with('env = { "A\\nB" = "x" }'),
     "app.env.'A\\nB': not a valid environment variable name"),
    # -- app.runner, health.scheme, health.tls_verify, health.headers --------------------------
    ("runner-podman", app_with('runner = "podman"'),
     "app.runner: must be one of \"process\", \"docker\", got 'podman'"),
    ("runner-not-string", app_with("runner = 1"), "app.runner: must be a string, got int"),
    ("scheme-ftp", APP + '[health]\nscheme = "ftp"\n',
     "health.scheme: must be one of \"http\", \"https\", got 'ftp'"),
    ("scheme-case", APP + '[health]\nscheme = "HTTPS"\n', "health.scheme: must be one of"),
    ("tls-verify-number", APP + "[health]\ntls_verify = 1\n",
     "health.tls_verify: must be true, false or the path of a CA file, got 1"),
    ("tls-verify-empty", APP + '[health]\ntls_verify = ""\n',
     "health.tls_verify: must be true, false or the path of a CA file, got ''"),
    ("tls-verify-missing-file", APP + '[health]\ntls_verify = "/nonexistent-bg-test/ca.pem"\n',
     "health.tls_verify: /nonexistent-bg-test/ca.pem does not exist; it must name the CA file"),
    ("tls-verify-relative-missing", APP + '[health]\ntls_verify = "ca.pem"\n',
     "health.tls_verify: /tmp/x/ca.pem does not exist"),
    ("tls-verify-directory", APP + '[health]\ntls_verify = "/tmp"\n',
     "health.tls_verify: /tmp is not a file"),
    ("headers-not-table", APP + '[health]\nheaders = "X-A: 1"\n',
     "health.headers: must be a table of strings"),
    ("header-name-space", APP + '[health]\nheaders = { "X A" = "1" }\n',
     "health.headers.X A: not a valid header name"),
    ("header-name-colon", APP + '[health]\nheaders = { "X:A" = "1" }\n',
     "health.headers.X:A: not a valid header name"),
    ("header-name-crlf", APP + '[health]\nheaders = { "X\\r\\nA" = "1" }\n',
     "health.headers.'X\\r\\nA': not a valid header name"),
    ("header-name-empty", APP + '[health]\nheaders = { "" = "1" }\n',
     "health.headers.: not a valid header name"),
    ("header-host", APP + '[health]\nheaders = { Host = "a.com" }\n',
     "health.headers.Host: set the Host header with health.host_header"),
    ("header-content-length", APP + '[health]\nheaders = { Content-Length = "5" }\n',
     "health.headers.Content-Length: not allowed: the probe sets how its request is framed"),
    ("header-transfer-encoding", APP + '[health]\nheaders = { transfer-encoding = "chunked" }\n',
     "health.headers.transfer-encoding: not allowed"),
    ("header-connection", APP + '[health]\nheaders = { CONNECTION = "keep-alive" }\n',
     "health.headers.CONNECTION: not allowed"),
    ("header-value-crlf", APP + '[health]\nheaders = { X-A = "1\\r\\nX-B: 2" }\n',
     "health.headers.X-A: must be printable ASCII without line breaks or NUL bytes, "
     "got '1\\r\\nX-B: 2'"),
    ("header-value-lf", APP + '[health]\nheaders = { X-A = "1\\n" }\n',
     "health.headers.X-A: must be printable ASCII"),
    ("header-value-nul", APP + '[health]\nheaders = { X-A = "a\\u0000b" }\n',
     "health.headers.X-A: must be printable ASCII"),
    ("header-value-escape", APP + '[health]\nheaders = { X-A = "\\u001b[2J" }\n',
     "health.headers.X-A: must be printable ASCII"),
    ("header-value-int", APP + "[health]\nheaders = { X-A = 1 }\n",
     "health.headers.X-A: must be a string, got int"),
    ("header-value-too-long", APP + f'[health]\nheaders = {{ X-A = "{"a" * 4097}" }}\n',
     "health.headers.X-A: must be at most 4096 bytes, got 4097"),
    ("header-twice", APP + '[health]\nheaders = { X-A = "1", x-a = "2" }\n',
     "health.headers.x-a: the same header as X-A (names ignore case)"),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [pytest.param(text, expected, id=name) for name, text, expected in BAD_CONFIGS],
)
def test_bad_config_is_refused_naming_the_key(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(text)
    error = caught.value
    assert error.exit_code is ExitCode.CONFIG
    assert int(error.exit_code) == 3
    assert any(expected in problem for problem in error.problems), error.problems
    assert expected in str(error)
    assert str(CONFIG_PATH) in str(error)
    assert "Nothing was changed" in str(error)


def test_bad_config_table_is_big_enough() -> None:
    assert len(BAD_CONFIGS) >= 30
    assert len({name for name, _, _ in BAD_CONFIGS}) == len(BAD_CONFIGS)


# -- ports below 1024 ---------------------------------------------------------------------------


@pytest.mark.usefixtures("as_user")
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(app_with("ports = [80, 7002]"),
                     "app.ports[0]: port 80 is below 1024 and needs root; pick a port >= 1024",
                     id="slot-port"),
        pytest.param(APP + '[nginx]\nlisten = "0.0.0.0:443"\n',
                     "nginx.listen: port 443 is below 1024 and needs root", id="listen"),
    ],
)
def test_low_port_needs_root(text: str, expected: str) -> None:
    assert any(expected in p for p in problems_of(text))


@pytest.mark.usefixtures("as_root")
def test_low_ports_are_fine_for_root() -> None:
    cfg = parse(app_with("ports = [80, 81]") + '[nginx]\nlisten = "0.0.0.0:443"\n')
    assert cfg.app.ports == (80, 81)
    assert cfg.nginx.listen == "0.0.0.0:443"


@pytest.mark.usefixtures("as_user")
def test_port_1024_is_fine_without_root() -> None:
    assert parse(app_with("ports = [1024, 65535]")).app.ports == (1024, 65535)


# -- good configs -------------------------------------------------------------------------------


@pytest.fixture
def no_programs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Nothing to find on PATH or in the sbin folders: program names stay as written."""
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr("bluegreen_local.config.commands.SBIN_DIRS", ())


@pytest.mark.usefixtures("as_root", "no_programs")
def test_minimal_config_gets_documented_defaults() -> None:
    cfg = parse(APP)
    state_dir = Path("/var/lib/bluegreen/web")
    assert cfg.path == CONFIG_PATH
    assert cfg.state_dir == state_dir
    assert cfg.app.name == "web"
    assert cfg.app.command == ("python3", "app.py", "--port", "{port}")
    assert cfg.app.workdir is None
    assert cfg.app.env == ()
    assert cfg.app.ports == (7001, 7002)
    assert cfg.app.stop_timeout == 10.0
    assert cfg.health.path == "/health"
    assert cfg.health.expect_status == frozenset({200})
    assert cfg.health.expect_body == ""
    assert cfg.health.host_header == ""
    assert cfg.health.interval == 0.1
    assert cfg.health.timeout == 2.0
    assert cfg.health.successes == 2
    assert cfg.health.deadline == 60.0
    assert cfg.nginx.mode is Mode.MANAGED
    assert cfg.nginx.binary == "nginx"
    assert cfg.nginx.listen == "127.0.0.1:8080"
    assert cfg.nginx.admin_socket == state_dir / "nginx/admin.sock"
    assert cfg.nginx.upstream_file == state_dir / "nginx/conf/upstream.conf"
    assert cfg.nginx.pid_file == state_dir / "nginx/nginx.pid"
    assert cfg.nginx.error_log == state_dir / "nginx/logs/error.log"
    assert cfg.nginx.test_command == ("nginx", "-t")
    assert cfg.nginx.reload_command is None  # SIGHUP to the master
    assert cfg.nginx.reload_timeout == 10.0
    assert cfg.drain.timeout == 30.0
    assert cfg.deploy.keep_old == 0.0  # stop the old slot after the drain, as before
    assert cfg.nginx_prefix == state_dir / "nginx"


def test_default_state_dir_without_root(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr("bluegreen_local.config.network.os.geteuid", lambda: 1000)
    # A home as short as a real one: the admin socket under it must fit a unix socket path.
    monkeypatch.setenv("HOME", "/home/deploy")
    assert parse(APP).state_dir == Path("/home/deploy/.local/state/bluegreen/web")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('"2xx"', frozenset(range(200, 300))),
        ('"200-204"', frozenset(range(200, 205))),
        ("[200, 301]", frozenset({200, 301})),
        ('["2xx", 301]', frozenset({*range(200, 300), 301})),
        ("204", frozenset({204})),
    ],
)
def test_expect_status_forms(value: str, expected: frozenset[int]) -> None:
    assert parse(APP + f"[health]\nexpect_status = {value}\n").health.expect_status == expected


@pytest.mark.parametrize(
    ("value", "seconds"),
    [('"500ms"', 0.5), ('"5m"', 300.0), ("30", 30.0), ('"1.5s"', 1.5), ('"2h"', 7200.0),
     ('"45"', 45.0), ("0.25", 0.25)],
)
def test_durations(value: str, seconds: float) -> None:
    cfg = parse(APP + f"[drain]\ntimeout = {value}\n")
    assert cfg.drain.timeout == seconds
    assert isinstance(cfg.drain.timeout, float)


def test_health_durations_parsed() -> None:
    cfg = parse(APP + '[health]\ninterval = "500ms"\ndeadline = "5m"\ntimeout = 3\n')
    assert (cfg.health.interval, cfg.health.deadline, cfg.health.timeout) == (0.5, 300.0, 3.0)


def test_relative_paths_resolve_against_the_config_folder() -> None:
    cfg = parse('state_dir = "state"\n' + APP)
    assert cfg.state_dir == Path("/tmp/x/state")
    assert cfg.nginx.admin_socket == Path("/tmp/x/state/nginx/admin.sock")


def test_absolute_state_dir_is_kept() -> None:
    assert parse('state_dir = "/srv/bg/state"\n' + APP).state_dir == Path("/srv/bg/state")


@pytest.mark.usefixtures("no_programs")
def test_full_config_is_read(tmp_path: Path) -> None:
    text = (
        'state_dir = "/srv/bg/state"\n'
        "[app]\n"
        'name = "shop-api_2"\n'
        "command = \"gunicorn -b '127.0.0.1:{port}' app:wsgi --name {slot}-{version}\"\n"
        'workdir = "/srv/shop/releases/{version}"\n'
        'env = { APP_ENV = "prod", _X1 = "" }\n'
        "ports = [9001, 9002]\n"
        '[health]\npath = "/healthz?full=1"\nexpect_body = "ok"\nhost_header = "shop.example.com"\n'
        "successes = 3\n"
        f'[nginx]\nmode = "system"\nupstream_file = "{tmp_path}/up.conf"\n'
        'reload_command = "systemctl reload nginx"\n'
    )
    cfg = parse(text)
    assert cfg.app.command == ("gunicorn", "-b", "127.0.0.1:{port}", "app:wsgi", "--name",
                               "{slot}-{version}")
    assert cfg.app.workdir == "/srv/shop/releases/{version}"
    assert cfg.app.env == (("APP_ENV", "prod"), ("_X1", ""))
    assert cfg.app.ports == (9001, 9002)
    assert cfg.health.path == "/healthz?full=1"
    assert cfg.health.host_header == "shop.example.com"
    assert cfg.health.successes == 3
    assert cfg.nginx.mode is Mode.SYSTEM
    assert cfg.nginx.upstream_file == tmp_path / "up.conf"
    assert cfg.nginx.reload_command == ("systemctl", "reload", "nginx")
    assert cfg.nginx.admin_socket == Path("/run/bluegreen-shop-api_2.sock")
    assert cfg.nginx.pid_file == Path("/run/nginx.pid")


@pytest.mark.parametrize(
    ("listen", "normalised"),
    [("8080", "127.0.0.1:8080"), ("[::1]:8080", "[::1]:8080"), ("*:8080", "*:8080"),
     ("0.0.0.0:9000", "0.0.0.0:9000")],
)
def test_listen_forms(listen: str, normalised: str) -> None:
    assert parse(APP + f'[nginx]\nlisten = "{listen}"\n').nginx.listen == normalised


def test_system_mode_may_listen_on_a_slot_port(tmp_path: Path) -> None:
    # The listener belongs to the host's nginx in system mode; bluegreen never binds it.
    text = APP + f'[nginx]\nmode = "system"\nupstream_file = "{tmp_path}/u.conf"\nlisten = "7001"\n'
    assert parse(text).nginx.mode is Mode.SYSTEM


def test_several_problems_reported_together() -> None:
    text = (
        "colour = 1\n"
        '[app]\nname = "Web"\ncommand = "run {foo}"\nports = [7001, 7001]\n'
        '[health]\ninterval = "soon"\nexpect_status = 99\n'
        '[nginx]\nlisten = "localhost:80"\n'
    )
    with pytest.raises(ConfigError) as caught:
        parse(text)
    problems = caught.value.problems
    assert len(problems) == 7, problems
    for key in ("colour:", "app.name:", "app.command:", "app.ports:", "health.interval:",
                "health.expect_status:", "nginx.listen:"):
        assert any(p.startswith(key) for p in problems), (key, problems)
    assert "7 problems:" in str(caught.value)


def test_missing_app_reports_its_required_keys_too() -> None:
    assert problems_of("") == ["[app]: missing table", "app.name: required",
                               "app.command: required"]


# -- regressions: bugs found while writing these tests ------------------------------------------


def test_empty_expect_status_names_the_key() -> None:
    assert any(p.startswith("health.expect_status:") for p in problems_of(
        APP + "[health]\nexpect_status = []\n"))


@pytest.mark.parametrize("key", ["drain.timeout", "health.interval", "app.stop_timeout"])
def test_nan_duration_is_refused(key: str) -> None:
    section, name = key.split(".")
    text = app_with(f"{name} = nan") if section == "app" else APP + f"[{section}]\n{name} = nan\n"
    assert any(p.startswith(f"{key}:") for p in problems_of(text))


def test_missing_upstream_directory_is_one_problem() -> None:
    text = APP + '[nginx]\nmode = "system"\nupstream_file = "/nonexistent-bg-test/x.conf"\n'
    assert problems_of(text) == [
        "nginx.upstream_file: directory /nonexistent-bg-test does not exist"]


def test_bad_mode_is_one_problem() -> None:
    assert problems_of(APP + '[nginx]\nmode = "docker"\n') == [
        "nginx.mode: must be one of \"managed\", \"system\", got 'docker'"]


@pytest.mark.parametrize("written", ["{port!r}", "{port:>9}"])
def test_placeholder_message_shows_what_was_written(written: str) -> None:
    text = f'[app]\nname = "web"\ncommand = "run {written}"\n'
    assert any(written in p for p in problems_of(text))


def test_state_dir_unusable_by_nginx_is_a_config_error() -> None:
    problems_of('state_dir = "/srv/my app"\n' + APP)


# -- where the config file is ------------------------------------------------------------------


def test_resolve_path_flag_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(config.CONFIG_ENV, "/etc/from-env.toml")
    assert config.resolve_path(Path("/etc/flag.toml")) == Path("/etc/flag.toml")


def test_resolve_path_env_before_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BLUEGREEN_CONFIG", "/etc/from-env.toml")
    assert config.resolve_path(None) == Path("/etc/from-env.toml")


@pytest.mark.parametrize("env", [None, ""])
def test_resolve_path_default(monkeypatch: pytest.MonkeyPatch, env: str | None) -> None:
    if env is None:
        monkeypatch.delenv("BLUEGREEN_CONFIG", raising=False)
    else:
        monkeypatch.setenv("BLUEGREEN_CONFIG", env)
    assert config.resolve_path(None) == Path("bluegreen.toml")


def test_load_reads_the_file_in_the_current_folder(no_config_env: Path) -> None:
    (no_config_env / "bluegreen.toml").write_text('state_dir = "st"\n' + APP, encoding="utf-8")
    cfg = config.load()
    assert cfg.path == no_config_env.resolve() / "bluegreen.toml"
    assert cfg.state_dir == no_config_env.resolve() / "st"


def test_load_follows_the_env_variable(
    monkeypatch: pytest.MonkeyPatch, no_config_env: Path, tmp_path: Path
) -> None:
    (no_config_env / "bluegreen.toml").write_text("not toml [", encoding="utf-8")
    other = tmp_path / "other.toml"
    other.write_text(APP.replace('"web"', '"other"'), encoding="utf-8")
    monkeypatch.setenv("BLUEGREEN_CONFIG", str(other))
    assert config.load().app.name == "other"


@pytest.mark.usefixtures("no_config_env")
def test_load_missing_file() -> None:
    with pytest.raises(ConfigError) as caught:
        config.load()
    assert caught.value.exit_code == 3
    assert "bluegreen.toml: config file not found" in str(caught.value)
    assert "bluegreen init" in str(caught.value)


def test_load_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "bluegreen.toml"
    path.write_bytes(b"\xff\xfe[app]\n")
    with pytest.raises(ConfigError, match="cannot read config file"):
        config.load(path)


# -- StrictModes: as root, a config file only root can change -----------------------------------

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chown and the root-only check need root")


def stat_of(mode: int, uid: int = 0) -> os.stat_result:
    return os.stat_result((stat.S_IFREG | mode, 1, 1, 1, uid, 0, 10, 0, 0, 0))


@pytest.mark.parametrize(
    ("mode", "writers"),
    [(0o664, "its group (mode 0664)"), (0o646, "everyone (mode 0646)"),
     (0o666, "its group and everyone (mode 0666)"), (0o777, "its group and everyone")],
)
def test_trust_problem_names_who_can_write(mode: int, writers: str) -> None:
    why = validate.trust_problem(Path("/etc/b g.toml"), stat_of(mode), euid=0, what="config file")
    assert why is not None
    assert f"refuses a config file writable by {writers}" in why
    assert why.endswith("Fix: chmod go-w '/etc/b g.toml'")


def test_trust_problem_names_the_owner() -> None:
    why = validate.trust_problem(Path("/etc/b.toml"), stat_of(0o644, uid=65534), euid=0,
                                 what="hook script")
    assert why is not None
    assert "refuses a hook script owned by nobody (uid 65534)" in why
    assert "Fix: chown root /etc/b.toml" in why


@pytest.mark.parametrize("mode", [0o644, 0o600, 0o400, 0o755])
def test_trust_problem_accepts_a_root_only_file(mode: int) -> None:
    assert validate.trust_problem(Path("/b"), stat_of(mode), euid=0, what="config file") is None


def test_trust_problem_ignores_other_users() -> None:
    assert validate.trust_problem(Path("/b"), stat_of(0o666, uid=1), euid=1000,
                                  what="config file") is None


@needs_root
@pytest.mark.parametrize("mode", [0o666, 0o620, 0o602])
def test_load_as_root_refuses_a_writable_config(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "bluegreen.toml"
    path.write_text(APP, encoding="utf-8")
    path.chmod(mode)
    with pytest.raises(ConfigError) as caught:
        config.load(path)
    assert caught.value.exit_code == 3
    assert str(caught.value).startswith(f"{path}: as root, bluegreen refuses a config file "
                                        "writable by ")
    assert f"Fix: chmod go-w {path}" in str(caught.value)
    path.chmod(0o644)
    assert config.load(path).app.name == "web"


@needs_root
def test_load_as_root_refuses_a_config_owned_by_another_user(tmp_path: Path) -> None:
    path = tmp_path / "bluegreen.toml"
    path.write_text(APP, encoding="utf-8")
    os.chown(path, 65534, 65534)
    with pytest.raises(ConfigError, match=r"owned by .*uid 65534.*Fix: chown root"):
        config.load(path)


def test_load_as_another_user_skips_the_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bluegreen.toml"
    path.write_text(APP, encoding="utf-8")
    path.chmod(0o666)
    monkeypatch.setattr("bluegreen_local.config.loader.os.geteuid", lambda: 1000)
    assert config.load(path).app.name == "web"


def test_load_refuses_a_huge_file(tmp_path: Path) -> None:
    path = tmp_path / "bluegreen.toml"
    path.write_text(APP + "#" * (2 * loader.MAX_CONFIG_BYTES), encoding="utf-8")
    with pytest.raises(ConfigError, match="config file is larger than 1 MiB"):
        config.load(path)


# -- paths bluegreen must be able to use -----------------------------------------------------------


def test_upstream_file_that_is_a_directory(tmp_path: Path) -> None:
    text = APP + f'[nginx]\nmode = "system"\nupstream_file = "{tmp_path}"\n'
    assert problems_of(text) == [f"nginx.upstream_file: {tmp_path} is a directory; it must name "
                                 "a file"]


def test_state_dir_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("", encoding="utf-8")
    assert problems_of(f'state_dir = "{tmp_path}/f"\n' + APP) == [
        f"state_dir: {tmp_path}/f is a file; it must name a directory"]


def test_admin_socket_in_a_missing_directory(tmp_path: Path) -> None:
    text = APP + f'[nginx]\nadmin_socket = "{tmp_path}/nope/admin.sock"\n'
    assert problems_of(text) == [f"nginx.admin_socket: directory {tmp_path}/nope does not exist "
                                 "(nginx creates the socket in it)"]


@pytest.mark.parametrize("where", ["state", "state/nginx"])
def test_admin_socket_in_a_directory_bluegreen_creates(tmp_path: Path, where: str) -> None:
    text = f'state_dir = "{tmp_path}/state"\n' + APP + \
        f'[nginx]\nadmin_socket = "{tmp_path}/{where}/a.sock"\n'
    assert parse(text).nginx.admin_socket == tmp_path / where / "a.sock"


@pytest.mark.parametrize("key", ["pid_file", "error_log"])
def test_system_only_files_are_refused_in_managed_mode(key: str) -> None:
    text = 'state_dir = "/srv/bg"\n' + APP + f'[nginx]\n{key} = "/run/x"\n'
    assert problems_of(text) == [f"nginx.{key}: only used in system mode; the managed nginx "
                                 "keeps it in /srv/bg/nginx"]


def test_a_directory_it_may_not_look_into_is_a_problem_not_a_crash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_stat = Path.stat

    def stat(self: Path, *, follow_symlinks: bool = True) -> os.stat_result:
        if str(self).startswith("/forbidden"):
            raise PermissionError(13, "Permission denied", str(self))
        return real_stat(self, follow_symlinks=follow_symlinks)

    monkeypatch.setattr(Path, "stat", stat)
    text = APP + '[nginx]\nmode = "system"\nupstream_file = "/forbidden/x/u.conf"\n'
    assert problems_of(text) == ["nginx.upstream_file: directory /forbidden/x does not exist"]


def test_a_config_path_with_control_characters_is_shown_escaped(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        config.load(tmp_path / "\x1b[2J.toml")
    assert str(caught.value).startswith(f"'{tmp_path}/\\x1b[2J.toml': config file not found")
    assert "\x1b" not in str(caught.value)


# -- app.runner and the probe's scheme, certificate check and headers ----------------------------


def test_new_keys_have_their_defaults() -> None:
    cfg = parse(APP)
    assert cfg.app.runner is RunnerKind.PROCESS
    assert cfg.health.scheme == "http"
    assert cfg.health.tls_verify is True
    assert cfg.health.headers == ()


def test_runner_process_is_read() -> None:
    assert parse(app_with('runner = "process"')).app.runner is RunnerKind.PROCESS


def test_bad_runner_is_one_problem() -> None:
    assert problems_of(app_with('runner = "podman"')) == [
        "app.runner: must be one of \"process\", \"docker\", got 'podman'"]


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_scheme_is_read(scheme: str) -> None:
    assert parse(APP + f'[health]\nscheme = "{scheme}"\n').health.scheme == scheme


@pytest.mark.parametrize("value", [True, False])
def test_tls_verify_flag(value: bool) -> None:
    text = APP + f"[health]\nscheme = \"https\"\ntls_verify = {str(value).lower()}\n"
    assert parse(text).health.tls_verify is value


def test_tls_verify_ca_file_resolves_against_the_config_folder(tmp_path: Path) -> None:
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs/ca.pem").write_text("-----BEGIN CERTIFICATE-----\n", encoding="utf-8")
    text = APP + '[health]\nscheme = "https"\ntls_verify = "certs/ca.pem"\n'
    cfg = config.parse(text, tmp_path / "bluegreen.toml")
    assert cfg.health.tls_verify == tmp_path / "certs/ca.pem"


def test_tls_verify_absolute_ca_file(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("", encoding="utf-8")
    assert parse(APP + f'[health]\ntls_verify = "{ca}"\n').health.tls_verify == ca


def test_headers_are_read_in_order() -> None:
    text = APP + ('[health]\nheaders = { X-Probe = "bluegreen", Authorization = "Bearer a.b~c", '
                  '"x!#$%&\'*+.^_`|~9" = "", X-Tab = "a\\tb" }\n')
    assert parse(text).health.headers == (
        ("X-Probe", "bluegreen"), ("Authorization", "Bearer a.b~c"),
        ("x!#$%&'*+.^_`|~9", ""), ("X-Tab", "a\tb"))


def test_headers_as_a_table() -> None:
    text = APP + '[health.headers]\nX-A = "1"\nUser-Agent = "probe"\n'
    assert parse(text).health.headers == (("X-A", "1"), ("User-Agent", "probe"))


def test_header_value_of_4_kib_is_accepted() -> None:
    text = APP + f'[health]\nheaders = {{ X-A = "{"a" * 4096}" }}\n'
    assert parse(text).health.headers == (("X-A", "a" * 4096),)


@pytest.mark.parametrize("name", ["host", "HOST", "Content-length", "Transfer-Encoding",
                                  "connection"])
def test_headers_the_probe_sets_itself_are_refused_in_any_case(name: str) -> None:
    (problem,) = problems_of(APP + f'[health]\nheaders = {{ {name} = "x" }}\n')
    assert problem.startswith(f"health.headers.{name}: ")


def test_every_bad_header_is_reported() -> None:
    text = APP + '[health]\nheaders = { "X A" = "1", Host = "h", X-B = "2\\n", X-C = "ok" }\n'
    assert [p.split(":")[0] for p in problems_of(text)] == [
        "health.headers.X A", "health.headers.Host", "health.headers.X-B"]


def test_unknown_health_key_lists_the_new_keys() -> None:
    assert problems_of(APP + "[health]\nurl = '/'\n") == [
        "health.url: unknown key (allowed: deadline, expect_body, expect_status, headers, "
        "host_header, interval, path, scheme, successes, timeout, tls_verify)"]


def test_unknown_app_key_lists_runner() -> None:
    (problem,) = problems_of(app_with("image = 1"))
    assert problem == ("app.image: unknown key (allowed: command, env, name, ports, runner, "
                       "stop_timeout, workdir)")


def test_the_init_template_documents_the_new_keys_with_valid_values() -> None:
    text = templating.render("bluegreen.toml.j2", name="shop")
    uncommented = re.sub(r"^# (runner|scheme|headers) =", r"\1 =", text, flags=re.MULTILINE)
    cfg = parse(uncommented)
    assert cfg.app.runner is RunnerKind.PROCESS
    assert cfg.health.scheme == "https"
    assert cfg.health.headers == (("Authorization", "Bearer 123"),)
    assert "# tls_verify = " in text
