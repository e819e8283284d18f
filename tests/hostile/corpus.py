"""The bad-input corpus: each case, the exit code it must give and the words that must name it.

A config case edits the good config of the live app in one place, so a case that were accepted
would really deploy; a CLI case passes bad arguments with the good config. Tokens <blue>,
<green>, <listen>, <root> and <config> are replaced by the live app's values when a case runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Edit = Callable[[str], str | bytes]

USAGE = 2  # README, "Exit codes": usage, bad arguments or version string
CONFIG = 3  # README, "Exit codes": config invalid


@dataclass(frozen=True)
class Case:
    """One bad input, what the CLI must answer, and how it must say it."""

    name: str
    code: int
    message: str
    edit: Edit | None = None
    args: tuple[str, ...] = ("deploy", "v2")
    config_flag: bool = True  # append `-c <config>`
    env: tuple[tuple[str, str], ...] = ()
    file_mode: int | None = None
    file_owner: int | None = None
    by_click: bool = False  # the parser's own usage error, in its box, not our `error: `
    single: bool = True  # exactly one problem reported
    json: bool = False  # also pass --json and check the JSON error document
    root_only: bool = False  # the check only exists when running as root


def setting(section: str, key: str, value: str | None) -> Edit:
    """Set `key` in [section] ("" = top level) to the TOML `value`, or remove it (None)."""

    def edit(text: str) -> str:
        lines = text.splitlines()
        start = 0 if not section else lines.index(f"[{section}]") + 1
        end = next((i for i in range(start, len(lines)) if lines[i].startswith("[")),
                   len(lines))
        found = next((i for i in range(start, end) if lines[i].split("=")[0].strip() == key),
                     None)
        if found is not None:
            del lines[found]
        if value is not None:
            lines.insert(start, f"{key} = {value}")
        return "\n".join(lines) + "\n"

    return edit


def replaced(old: str, new: str) -> Edit:
    def edit(text: str) -> str:
        assert old in text, old
        return text.replace(old, new)

    return edit


def appended(extra: str) -> Edit:
    return lambda text: text + extra


def whole(document: str | bytes) -> Edit:
    return lambda _text: document


def app(key: str, value: str | None) -> Edit:
    return setting("app", key, value)


def health(key: str, value: str | None) -> Edit:
    return setting("health", key, value)


def nginx(key: str, value: str | None) -> Edit:
    return setting("nginx", key, value)


def chain(*edits: Edit) -> Edit:
    def edit(text: str) -> str | bytes:
        out: str | bytes = text
        for step in edits:
            assert isinstance(out, str)
            out = step(out)
        return out

    return edit


def bad_name(name: str, value: str, message: str) -> Case:
    return Case(f"name-{name}", CONFIG, message, app("name", value))


BAD_CONFIG: tuple[Case, ...] = (
    # -- the document ---------------------------------------------------------------------
    Case("invalid-toml", CONFIG, "invalid TOML: ", appended("[app\n")),
    Case("toml-duplicate-key", CONFIG, "invalid TOML: Cannot declare ('drain',) twice",
         appended('[drain]\ntimeout = "1s"\n')),
    Case("toml-number-too-long", CONFIG, "invalid TOML: a number is too long",
         health("successes", "9" * 5000)),
    Case("toml-nested-too-deep", CONFIG, "invalid TOML: arrays or tables are nested too deeply",
         appended("x = " + "[" * 5000 + "]" * 5000 + "\n")),
    Case("not-utf8", CONFIG, "cannot read config file: 'utf-8' codec can't decode",
         lambda text: text.encode() + b"# \xff\xfe\n"),
    Case("file-over-1mib", CONFIG, "config file is larger than 1 MiB",
         appended("#" * (1 << 21) + "\n")),
    Case("empty-file", CONFIG, "[app]: missing table", whole(""), single=False),
    Case("unknown-top-key", CONFIG,
         "colour: unknown key (allowed: app, capacity, deploy, docker, drain, health,",
         setting("", "colour", '"blue"'), json=True),
    Case("unknown-table", CONFIG, "deplyo: unknown key", appended("[deplyo]\nx = 1\n")),
    Case("unknown-app-key", CONFIG, "app.image: unknown key", app("image", '"x"')),
    Case("unknown-health-key", CONFIG, "health.url: unknown key", health("url", '"/"')),
    Case("unknown-nginx-key", CONFIG, "nginx.port: unknown key", nginx("port", "80")),
    Case("unknown-key-escape-sequence", CONFIG, "'\\x1b[2J': unknown key",
         setting("", '"\\u001b[2J"', "1")),
    Case("missing-app-name", CONFIG, "app.name: required", app("name", None)),
    Case("missing-app-command", CONFIG, "app.command: required", app("command", None)),
    Case("app-not-a-table", CONFIG, "app: must be a table like [app]",
         replaced("[app]\n", "app = 1\n[application]\n"), single=False),
    # -- wrong types ----------------------------------------------------------------------
    Case("name-int", CONFIG, "app.name: must be a string, got int", app("name", "7")),
    Case("command-list", CONFIG, "app.command: must be a string, got list",
         app("command", '["python3", "app.py"]')),
    Case("ports-string", CONFIG, "app.ports: must be a list of two ports",
         app("ports", '"<blue>,<green>"')),
    Case("port-string", CONFIG, "app.ports[0]: must be a port number, got '<blue>'",
         app("ports", '["<blue>", <green>]')),
    Case("successes-string", CONFIG, "health.successes: must be a whole number, got '2'",
         health("successes", '"2"')),
    Case("expect-body-int", CONFIG, "health.expect_body: must be a string, got int",
         health("expect_body", "1")),
    Case("env-not-table", CONFIG, "app.env: must be a table of strings", app("env", '"A=1"')),
    Case("state-dir-int", CONFIG, "state_dir: must be a string, got int",
         setting("", "state_dir", "1")),
    Case("timeout-datetime", CONFIG, "drain.timeout: must be a duration like",
         setting("drain", "timeout", "1979-05-27T07:32:00Z")),
    Case("nginx-mode", CONFIG, "nginx.mode: must be one of \"managed\", \"system\", got 'docker'",
         nginx("mode", '"docker"')),
    # -- ports ----------------------------------------------------------------------------
    Case("ports-equal", CONFIG, "app.ports: the two ports must differ, got <blue> twice",
         app("ports", "[<blue>, <blue>]"), json=True),
    Case("port-zero", CONFIG, "app.ports[0]: port 0 is out of range 1-65535",
         app("ports", "[0, <green>]")),
    Case("port-65536", CONFIG, "app.ports[1]: port 65536 is out of range 1-65535",
         app("ports", "[<blue>, 65536]")),
    Case("port-negative", CONFIG, "app.ports[0]: port -1 is out of range",
         app("ports", "[-1, <green>]")),
    Case("port-bool", CONFIG, "app.ports[1]: must be a port number, got True",
         app("ports", "[<blue>, true]")),
    Case("ports-three", CONFIG, "app.ports: must be a list of two ports [blue, green]",
         app("ports", "[<blue>, <green>, 7003]")),
    Case("listen-port-zero", CONFIG, "nginx.listen: port 0 is out of range",
         nginx("listen", '"127.0.0.1:0"')),
    Case("listen-65536", CONFIG, "nginx.listen: port 65536 is out of range",
         nginx("listen", '"127.0.0.1:65536"')),
    Case("listen-is-a-slot-port", CONFIG, "nginx.listen: port <green> is also a slot port",
         nginx("listen", '"127.0.0.1:<green>"')),
    Case("listen-hostname", CONFIG, "nginx.listen: must be HOST:PORT with an IP address",
         nginx("listen", '"localhost:<listen>"')),
    Case("listen-injection", CONFIG, "nginx.listen: must be HOST:PORT with an IP address, like "
         "\"127.0.0.1:8080\", got '127.0.0.1:<listen>; include /etc/shadow'",
         nginx("listen", '"127.0.0.1:<listen>; include /etc/shadow"')),
    Case("listen-ipv6-zone", CONFIG, "nginx.listen: must be HOST:PORT with an IP address",
         nginx("listen", '"[fe80::1%lo;}]:<listen>"')),
    Case("listen-superscript-digit", CONFIG, "nginx.listen: must be HOST:PORT",
         nginx("listen", '"127.0.0.1:80\\u00b2"')),
    # -- app.name: it becomes an nginx identifier and a default directory name --------------
    bad_name("semicolon", '"it;est"', "app.name: 'it;est' is not a valid name: use 1-63"),
    bad_name("slash", '"it/est"', "app.name: 'it/est' is not a valid name"),
    bad_name("dotdot", '".."', "app.name: '..' is not a valid name"),
    bad_name("open-brace", '"it{est"', "app.name: 'it{est' is not a valid name"),
    bad_name("close-brace", '"it}est"', "app.name: 'it}est' is not a valid name"),
    bad_name("space", '"it est"', "app.name: 'it est' is not a valid name"),
    bad_name("newline", '"it\\nest"', "app.name: 'it\\nest' is not a valid name"),
    bad_name("unicode", '"ítest"', "app.name: 'ítest' is not a valid name"),
    bad_name("300-chars", '"' + "a" * 300 + '"', "app.name: '" + "a" * 50),
    bad_name("empty", '""', "app.name: '' is not a valid name"),
    bad_name("dollar", '"it$est"', "app.name: 'it$est' is not a valid name"),
    bad_name("quote", "\"it'est\"", "app.name: \"it'est\" is not a valid name"),
    bad_name("nul", '"it\\u0000est"', "app.name: must not contain NUL bytes"),
    # -- commands -------------------------------------------------------------------------
    Case("placeholder-unknown", CONFIG,
         "app.command: unknown placeholder {foo}; allowed: {port} {version} {slot}",
         app("command", '"python3 app.py --port {foo}"')),
    Case("placeholder-attribute", CONFIG, "app.command: unknown placeholder {port.__class__}",
         app("command", '"python3 app.py --port {port.__class__}"')),
    Case("placeholder-conversion", CONFIG, "app.command: placeholder {port!r} takes no",
         app("command", '"python3 app.py --port {port!r}"')),
    Case("placeholder-lone-brace", CONFIG, "app.command: malformed placeholder",
         app("command", '"python3 app.py --port {"')),
    Case("command-empty", CONFIG, "app.command: must name a program to run",
         app("command", '""')),
    Case("command-blank", CONFIG, "app.command: must name a program to run",
         app("command", '"   "')),
    Case("command-unbalanced-quote", CONFIG, "app.command: cannot be split into arguments",
         app("command", "'python3 \"app.py --port {port}'")),
    Case("workdir-placeholder", CONFIG, "app.workdir: unknown placeholder {release}",
         app("workdir", '"/srv/{release}"')),
    Case("test-command-empty", CONFIG, "nginx.test_command: must name a program to run",
         nginx("test_command", '""')),
    Case("env-key-dash", CONFIG, "app.env.A-B: not a valid environment variable name",
         app("env", '{ "A-B" = "x" }')),
    Case("env-key-newline", CONFIG, "app.env.'A\\nB': not a valid environment variable name",
         app("env", '{ "A\\nB" = "x" }')),
    # -- health ---------------------------------------------------------------------------
    Case("path-no-slash", CONFIG, "health.path: must start with / and contain no spaces or "
         "control characters, got 'health'", health("path", '"health"')),
    Case("path-space", CONFIG, "health.path: must start with /", health("path", '"/he alth"')),
    Case("path-crlf", CONFIG, "health.path: must start with /",
         health("path", '"/h\\r\\nHost: evil"')),
    Case("host-header-crlf", CONFIG, "health.host_header: must be a host name",
         health("host_header", '"a.com\\r\\nX-Evil: 1"')),
    Case("status-99", CONFIG, "health.expect_status: 99 is not a status (100-599)",
         health("expect_status", "99")),
    Case("status-600", CONFIG, "health.expect_status: 600 is not a status",
         health("expect_status", "[200, 600]")),
    Case("status-7xx", CONFIG, "health.expect_status: '7xx' is not a status",
         health("expect_status", '"7xx"')),
    Case("status-range-reversed", CONFIG, "health.expect_status: '299-200' is not a status",
         health("expect_status", '"299-200"')),
    Case("successes-zero", CONFIG, "health.successes: must be between 1 and 100, got 0",
         health("successes", "0")),
    # -- durations ------------------------------------------------------------------------
    Case("duration-malformed", CONFIG, "health.interval: must be a duration like \"500ms\", "
         "\"30s\", \"5m\" or a number of seconds, got '10 parsecs'",
         health("interval", '"10 parsecs"')),
    Case("timeout-negative-string", CONFIG, "health.timeout: must be a duration like",
         health("timeout", '"-1s"')),
    Case("timeout-negative-number", CONFIG, "drain.timeout: must be between 0s and 24h, got -1",
         setting("drain", "timeout", "-1")),
    Case("stop-timeout-negative", CONFIG, "app.stop_timeout: must be a duration like",
         app("stop_timeout", '"-5s"')),
    Case("deadline-25h", CONFIG, "health.deadline: must be between 0.001s and 24h, got '25h'",
         health("deadline", '"25h"')),
    Case("interval-nan", CONFIG, "health.interval: must be a duration like",
         health("interval", "nan")),
    Case("timeout-beyond-float", CONFIG, "drain.timeout: must be between 0s and 24h, got 9999",
         setting("drain", "timeout", "9" * 400)),
    Case("reload-timeout-10ms", CONFIG, "nginx.reload_timeout: must be between 0.1s and 24h",
         nginx("reload_timeout", '"10ms"')),
    # -- paths: they reach nginx.conf and the file system -------------------------------------
    Case("upstream-dir-missing", CONFIG,
         "nginx.upstream_file: directory /nonexistent-bg-hostile/conf.d does not exist",
         chain(nginx("mode", '"system"'),
               nginx("upstream_file", '"/nonexistent-bg-hostile/conf.d/x.conf"'))),
    Case("system-without-upstream", CONFIG, "nginx.upstream_file: required in system mode",
         nginx("mode", '"system"')),
    Case("upstream-semicolon", CONFIG, "nginx.upstream_file: must be a path made of",
         nginx("upstream_file", '"/tmp/a.conf; include /etc/shadow"')),
    Case("state-dir-brace", CONFIG, "state_dir: must be a path made of",
         setting("", "state_dir", '"<root>/st}ate"')),
    Case("state-dir-unknown-user", CONFIG, "state_dir: cannot expand '~no-such-user-bg/x'",
         setting("", "state_dir", '"~no-such-user-bg/x"')),
    Case("admin-socket-too-long", CONFIG, "nginx.admin_socket: unix socket path",
         nginx("admin_socket", '"/' + "s" * 120 + '/admin.sock"')),
    Case("admin-socket-quote", CONFIG, "nginx.admin_socket: must be a path made of",
         nginx("admin_socket", "\"/tmp/a'.sock\"")),
    Case("pid-file-empty", CONFIG, "nginx.pid_file: must be a path made of",
         nginx("pid_file", '""')),
    Case("pid-file-in-managed-mode", CONFIG, "nginx.pid_file: only used in system mode",
         nginx("pid_file", '"/run/nginx.pid"')),
    Case("upstream-file-is-a-directory", CONFIG,
         "nginx.upstream_file: <root> is a directory; it must name a file",
         nginx("upstream_file", '"<root>"')),
    Case("state-dir-is-a-file", CONFIG, "state_dir: <config> is a file; it must name a directory",
         setting("", "state_dir", '"<config>"')),
    Case("admin-socket-dir-missing", CONFIG,
         "nginx.admin_socket: directory <root>/nope does not exist",
         nginx("admin_socket", '"<root>/nope/admin.sock"')),
    # -- the same bad config, through the other commands that read it ------------------------
    Case("down-bad-config", CONFIG, "app.ports[0]: port 0 is out of range",
         app("ports", "[0, <green>]"), args=("down",)),
    Case("rollback-bad-config", CONFIG, "app.name: 'it;est' is not a valid name",
         app("name", '"it;est"'), args=("rollback",), json=True),
    Case("status-bad-config", CONFIG, "health.path: must start with /",
         health("path", '"x"'), args=("status",)),
    # -- the file itself ------------------------------------------------------------------
    Case("config-world-writable", CONFIG, "as root, bluegreen refuses a config file writable "
         "by its group and everyone (mode 0666): whoever can change it could make root run "
         "any command. Fix: chmod go-w <config>", file_mode=0o666, root_only=True),
    Case("config-group-writable", CONFIG, "refuses a config file writable by its group "
         "(mode 0664)", file_mode=0o664, root_only=True, json=True),
    Case("config-owned-by-nobody", CONFIG, "refuses a config file owned by nobody (uid 65534): "
         "that user could make root run any command. Fix: chown root <config>",
         file_owner=65534, root_only=True),
    Case("config-missing", CONFIG, "<root>/missing.toml: config file not found",
         args=("deploy", "v2", "-c", "<root>/missing.toml"), config_flag=False),
    Case("config-is-a-directory", CONFIG, "cannot read config file: [Errno 21] Is a directory",
         args=("deploy", "v2", "-c", "<root>"), config_flag=False),
    Case("config-path-escape-sequence", CONFIG, "'<root>/\\x1b[2J.toml': config file not found",
         args=("deploy", "v2", "-c", "<root>/\x1b[2J.toml"), config_flag=False),
    Case("config-flag-empty", CONFIG, "cannot read config file: [Errno 21] Is a directory",
         args=("deploy", "v2", "-c", ""), config_flag=False),
    Case("config-env-bad", CONFIG, "app.ports: the two ports must differ",
         app("ports", "[<blue>, <blue>]"), config_flag=False,
         env=(("BLUEGREEN_CONFIG", "<config>"),)),
)

_LONG = "a" * 10240

BAD_CLI: tuple[Case, ...] = (
    # -- versions: they reach argv, the environment, workdir and the nginx file's header ------
    Case("version-semicolon", USAGE, "invalid version 'v2;rm -rf /': use 1-128 characters",
         args=("deploy", "v2;rm -rf /"), json=True),
    Case("version-command-substitution", USAGE, "invalid version '$(id)'",
         args=("deploy", "$(id)")),
    Case("version-backticks", USAGE, "invalid version '`id`'", args=("deploy", "`id`")),
    Case("version-newline", USAGE, "invalid version 'v2\\nv3'", args=("deploy", "v2\nv3")),
    Case("version-parent-dir", USAGE, "invalid version '../v2'", args=("deploy", "../v2")),
    Case("version-path", USAGE, "invalid version 'v2/../../etc'",
         args=("deploy", "v2/../../etc")),
    Case("version-10kB", USAGE, "invalid version '" + "a" * 40 + "...'",
         args=("deploy", _LONG)),
    Case("version-129-chars", USAGE, "invalid version '" + "b" * 40 + "...'",
         args=("deploy", "b" * 129)),
    Case("version-empty", USAGE, "invalid version ''", args=("deploy", "")),
    Case("version-leading-dash", USAGE, "invalid version '-v2'",
         args=("deploy", "-c", "<config>", "--", "-v2"), config_flag=False),
    Case("version-dot", USAGE, "invalid version '.hidden'", args=("deploy", ".hidden")),
    Case("version-unicode", USAGE, "invalid version 'vé'", args=("deploy", "vé")),
    Case("version-escape-sequence", USAGE, "invalid version '\\x1b[2Jv2'",
         args=("deploy", "\x1b[2Jv2")),
    Case("version-space", USAGE, "invalid version 'v 2'", args=("deploy", "v 2")),
    Case("version-tab", USAGE, "invalid version 'v\\t2'", args=("deploy", "v\t2")),
    Case("version-braces", USAGE, "invalid version '{port}'", args=("deploy", "{port}")),
    Case("version-force", USAGE, "invalid version 'v2;x'", args=("deploy", "--force", "v2;x")),
    # -- flags and arguments --------------------------------------------------------------
    Case("unknown-flag", USAGE, "No such option: --bogus", args=("deploy", "v2", "--bogus"),
         by_click=True),
    Case("unknown-command", USAGE, "No such command 'launch'", args=("launch", "v2"),
         by_click=True),
    Case("missing-version", USAGE, "Missing argument 'version'", args=("deploy",),
         by_click=True),
    Case("extra-argument", USAGE, "Got unexpected extra argument(s) (v3)",
         args=("deploy", "v2", "v3"), by_click=True),
    Case("rollback-takes-no-version", USAGE, "Got unexpected extra argument(s) (v1)",
         args=("rollback", "v1"), by_click=True),
    Case("flag-with-value", USAGE, "Option '--force' does not take a value",
         args=("deploy", "--force=yes", "v2"), by_click=True),
    Case("config-flag-without-value", USAGE, "Option '-c' requires an argument",
         args=("deploy", "v2", "-c"), config_flag=False, by_click=True),
    Case("history-zero", USAGE, "-n must be 1 or more", args=("history", "-n", "0")),
    Case("history-negative", USAGE, "-n must be 1 or more", args=("history", "-n", "-3")),
    Case("history-not-a-number", USAGE, "Invalid value for '-n'",
         args=("history", "-n", "ten"), by_click=True),
    Case("wait-lock-malformed", USAGE, "'soon' is not a duration like 30s or 2m",
         args=("deploy", "v2", "--wait-lock", "soon"), by_click=True),
    Case("wait-lock-negative", USAGE, "'-1s' is not a duration like 30s or 2m",
         args=("down", "--wait-lock", "-1s"), by_click=True),
    Case("init-over-config-bad-name", USAGE, "invalid app name 'a;b'",
         args=("init", "--force", "--name", "a;b")),
    Case("init-over-config", USAGE, "already exists; nothing was written", args=("init",)),
)
