"""Exit codes, the CLI's error handling (no nginx, no app started) and version validation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from bluegreen_local import config
from bluegreen_local.cli.app import app
from bluegreen_local.config import fields as validate
from bluegreen_local.model import errors
from bluegreen_local.model.errors import (
    BlueGreenError,
    CommandError,
    ConfigError,
    EnvironmentFault,
    ExitCode,
    HealthCheckError,
    Interrupted,
    LockedError,
    NginxError,
    PortConflictError,
    ReloadUndoFailed,
    RunnerError,
    StateError,
    UsageError,
)
from bluegreen_local.nginx import templating

COMMANDS = ("deploy", "rollback", "status", "history", "down", "check", "init")


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


# -- exit codes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "code", "kind"),
    [(UsageError, 2, "usage"), (ConfigError, 3, "config"), (HealthCheckError, 4, "health"),
     (RunnerError, 4, "start"), (NginxError, 5, "nginx"), (ReloadUndoFailed, 5, "nginx"),
     (LockedError, 6, "lock"), (PortConflictError, 7, "port"),
     (EnvironmentFault, 10, "environment"), (StateError, 10, "environment"),
     (Interrupted, 130, "interrupted"), (CommandError, 1, "command"), (BlueGreenError, 1, "bug")],
)
def test_exit_codes_and_kinds(error: type[BlueGreenError], code: int, kind: str) -> None:
    assert (int(error.exit_code), error.kind) == (code, kind)


def test_the_exit_code_table() -> None:
    # README, "Exit codes"; 8 and 9 are reserved for switch-back and capacity.
    assert {c.name: int(c) for c in ExitCode} == {
        "OK": 0, "UNEXPECTED": 1, "USAGE": 2, "CONFIG": 3, "HEALTH": 4, "NGINX": 5,
        "LOCKED": 6, "PORT_CONFLICT": 7, "SWITCHED_BACK": 8, "CAPACITY": 9, "ENVIRONMENT": 10,
        "INTERRUPTED": 130}


def test_every_error_has_an_exit_code_and_a_docstring() -> None:
    subclasses = [value for value in vars(errors).values()
                  if isinstance(value, type) and issubclass(value, BlueGreenError)]
    assert len(subclasses) >= 11
    for error in subclasses:
        assert isinstance(error.exit_code, ExitCode), error
        assert error.__doc__, error
        assert error.kind.isalpha() and error.kind.islower(), error


def test_config_error_lists_its_problems() -> None:
    one = ConfigError(["app.name: required"], "/etc/b.toml")
    assert str(one).startswith("/etc/b.toml: app.name: required\n")
    two = ConfigError(["a: x", "b: y"])
    assert str(two).startswith("2 problems:\n  a: x\n  b: y\n")
    assert two.problems == ["a: x", "b: y"]


# -- the CLI ------------------------------------------------------------------------------------


def test_help_lists_the_commands() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    for command in COMMANDS:
        assert f" {command} " in result.stdout, command


@pytest.mark.usefixtures("no_config_env")
def test_deploy_without_config_exits_3() -> None:
    result = invoke("deploy", "v1")
    assert result.exit_code == 3
    assert "config file not found" in result.stderr
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)


def test_deploy_with_missing_config_flag_exits_3(tmp_path: Path) -> None:
    result = invoke("deploy", "v1", "-c", str(tmp_path / "nope.toml"))
    assert result.exit_code == 3
    assert f"{tmp_path / 'nope.toml'}: config file not found" in result.stderr


def test_deploy_with_invalid_config_exits_3(tmp_path: Path) -> None:
    path = tmp_path / "bluegreen.toml"
    path.write_text('[app]\nname = "web"\ncommand = "x"\nports = [1, 1]\n', encoding="utf-8")
    result = invoke("deploy", "v1", "-c", str(path))
    assert result.exit_code == 3
    assert "app.ports: the two ports must differ" in result.stderr


def test_deploy_refuses_a_shell_version(config_file: Path, tmp_path: Path) -> None:
    result = invoke("deploy", "v1;rm -rf /", "-c", str(config_file))
    assert result.exit_code == 2
    assert "invalid version" in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "state" / "state.json").exists()
    assert not (tmp_path / "state").exists()


def test_unknown_flag_exits_2(config_file: Path) -> None:
    result = invoke("deploy", "v1", "--bogus", "-c", str(config_file))
    assert result.exit_code == 2
    assert "--bogus" in result.output


def test_missing_argument_exits_2() -> None:
    assert invoke("deploy").exit_code == 2


def test_unknown_command_exits_2() -> None:
    assert invoke("launch").exit_code == 2


@pytest.mark.parametrize(
    ("args", "code"),
    [(("deploy", "v1"), 3), (("status",), 3), (("history",), 3), (("down",), 3),
     (("rollback",), 3)],
)
@pytest.mark.usefixtures("no_config_env")
def test_json_failure_is_a_json_object(args: tuple[str, ...], code: int) -> None:
    result = invoke(*args, "--json")
    assert result.exit_code == code
    document = json.loads(result.stdout)
    assert document["schema"] == 1 and document["ok"] is False
    assert (document["exit_code"], document["kind"]) == (code, "config")
    assert "config file not found" in document["error"]
    assert "config file not found" in document["failed"]
    assert document["unchanged"] == "Nothing was changed."


def test_json_usage_failure(config_file: Path) -> None:
    result = invoke("deploy", "$(id)", "--json", "-c", str(config_file))
    assert result.exit_code == 2
    document = json.loads(result.stdout)
    assert document == {"schema": 1, "ok": False, "error": document["error"], "exit_code": 2,
                        "kind": "usage", "failed": None, "unchanged": None, "next": None}
    assert document["error"].startswith("invalid version '$(id)'")
    assert document["error"] in result.stderr, "the same words for people on stderr"


def test_history_rejects_a_zero_limit(config_file: Path) -> None:
    result = invoke("history", "-n", "0", "-c", str(config_file))
    assert result.exit_code == 2
    assert "-n must be 1 or more" in result.stderr


def test_bad_wait_lock_duration(config_file: Path) -> None:
    result = invoke("down", "--wait-lock", "soon", "-c", str(config_file))
    assert result.exit_code == 2
    assert "soon" in result.output


def test_init_writes_a_loadable_config(tmp_path: Path) -> None:
    path = tmp_path / "bluegreen.toml"
    result = invoke("init", "-c", str(path), "--name", "shop-api")
    assert result.exit_code == 0, result.output
    # rich wraps long lines on an 80-column terminal; compare the words
    assert f"wrote {path};" in " ".join(result.stdout.split())
    cfg = config.load(path)
    assert cfg.app.name == "shop-api"
    assert cfg.app.ports == (7001, 7002)
    assert cfg.app.command == ("python3", "app.py", "--port", "{port}")


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "bluegreen.toml"
    path.write_text("# mine\n", encoding="utf-8")
    result = invoke("init", "-c", str(path))
    assert result.exit_code == 2
    assert "already exists" in result.stderr
    assert path.read_text(encoding="utf-8") == "# mine\n"
    forced = invoke("init", "-c", str(path), "--force")
    assert forced.exit_code == 0
    assert config.load(path).app.name == "myapp"


def test_init_writes_to_the_current_folder_by_default(no_config_env: Path) -> None:
    result = invoke("init")
    assert result.exit_code == 0
    assert config.load(no_config_env / "bluegreen.toml").app.name == "myapp"


def test_init_refuses_a_bad_name(tmp_path: Path) -> None:
    result = invoke("init", "-c", str(tmp_path / "b.toml"), "--name", "My App")
    assert result.exit_code == 2
    assert "invalid app name" in result.stderr
    assert not (tmp_path / "b.toml").exists()


# -- versions -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "version", ["v1.2.3", "2024-01-01_rc1", "1.0+build.5", "a", "A" * 128, "0"],
)
def test_check_version_accepts(version: str) -> None:
    assert validate.check_version(version) == version


@pytest.mark.parametrize(
    "version",
    ["", "../x", "a b", "$(id)", "`id`", "a\nb", "a\x00b", "x" * 200, "x" * 129, "v1\n",
     "-v1", ".hidden", "v1/../../etc", "v1;rm -rf /", "vé", "a\tb"],
)
def test_check_version_rejects(version: str) -> None:
    with pytest.raises(UsageError) as caught:
        validate.check_version(version)
    assert caught.value.exit_code == ExitCode.USAGE
    message = str(caught.value)
    assert message.startswith("invalid version ")
    assert "Nothing was changed" in message
    assert len(message) < 250  # a long version is shortened, not echoed whole


@given(st.text(max_size=140) | st.from_regex(r"[A-Za-z0-9._+/ $;-]{1,140}", fullmatch=True))
def test_an_accepted_version_is_safe_everywhere(version: str) -> None:
    # Versions reach argv, file names, environment variables and nginx comments.
    try:
        validate.check_version(version)
    except UsageError:
        return
    assert templating.nginx_safe(version) == version
    assert version.isascii()
    assert "/" not in version
    assert not version.startswith(("-", "."))
    assert 1 <= len(version) <= 128
