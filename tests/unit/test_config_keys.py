"""Every config key documented once, where it is read; the README's table generated from that;
placeholders in app.env; nginx found off a normal user's PATH."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers import REPO, executable

from bluegreen_local import config
from bluegreen_local.config import reference
from bluegreen_local.config.loader import key_docs
from bluegreen_local.config.reader import REQUIRED
from bluegreen_local.engine import preflight
from bluegreen_local.model.errors import ConfigError, ExitCode, NginxError
from bluegreen_local.model.types import Slot
from bluegreen_local.runners.launch import expand

APP = '[app]\nname = "web"\ncommand = "python3 app.py --port {port}"\n'
TABLES = ("app", "health", "nginx", "drain")


def parse(text: str, where: Path = Path("/tmp/x")) -> config.Config:
    return config.parse(text, where / "bluegreen.toml")


def problems_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse(text)
    return caught.value.problems


# -- the reference ------------------------------------------------------------------------------


def test_the_readme_table_is_the_generated_one() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert reference.section(readme) == reference.markdown(), (
        "README.md's config reference is out of date: run `make config-reference`")


def test_every_key_has_a_one_line_doc() -> None:
    for doc in key_docs():
        assert doc.doc and "\n" not in doc.doc and len(doc.doc) <= 140, doc
        assert not doc.doc.endswith("."), f"{doc.key}: docs are phrases, without a full stop"


@pytest.mark.parametrize("table", TABLES)
def test_the_documented_keys_are_the_allowed_keys(table: str) -> None:
    """The unknown-key message lists what the table's getters read: each must be documented."""
    text = APP + "bogus = 1\n" if table == "app" else f"{APP}[{table}]\nbogus = 1\n"
    (problem,) = [p for p in problems_of(text) if "bogus" in p]
    listed = re.search(r"allowed: (.*)\)$", problem)
    assert listed is not None, problem
    allowed = {f"{table}.{key}" for key in listed.group(1).split(", ")}
    documented = {d.key for d in key_docs() if d.key.startswith(f"{table}.") and not d.table}
    assert allowed == documented


def test_top_level_keys_are_documented() -> None:
    (problem,) = [p for p in problems_of("bogus = 1\n" + APP) if "bogus" in p]
    documented = {d.key for d in key_docs() if "." not in d.key}
    assert problem == f"bogus: unknown key (allowed: {', '.join(sorted(documented))})"


def test_the_table_shows_defaults_as_toml_and_required_keys() -> None:
    rows = {line.split(" | ")[0].strip("| `*[]"): line
            for line in reference.markdown().splitlines() if line.startswith("| ")}
    assert "| `7001, 7002` |" not in rows["app.ports"] and "`[7001, 7002]`" in rows["app.ports"]
    assert "| required |" in rows["app.name"] and "| required |" in rows["app"]
    assert "`\"10s\"`" in rows["app.stop_timeout"] and "`true`" in rows["health.tls_verify"]
    assert "`\"nginx\"`" in rows["nginx.binary"] and "/usr/sbin" in rows["nginx.binary"]
    assert "| not set |" in rows["nginx.reload_command"] and "| optional |" in rows["drain"]
    # Computed defaults are told in words, the same for root and anyone else.
    assert "`/var/lib/bluegreen/<app>` as root" in rows["state_dir"]
    assert [d.key for d in key_docs() if d.default is REQUIRED] == [
        "app", "app.name"]  # app.command: required with the process runner only


def test_splice_replaces_only_the_marked_part() -> None:
    text = f"intro\n{reference.BEGIN}\nold\n{reference.END}\nrest\n"
    spliced = reference.splice(text, "\nnew\n")
    assert spliced == f"intro\n{reference.BEGIN}\n\nnew\n{reference.END}\nrest\n"
    assert reference.splice("no markers\n", "x") is None and reference.section("x") is None


# -- placeholders in app.env ----------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [
    ("{dir}", "app.env.DATA: unknown placeholder {dir}; allowed: {port} {version} {slot}"),
    ("{port:>5}", "app.env.DATA: placeholder {port:>5} takes no conversion or format"),
    ("a}b", "app.env.DATA: malformed placeholder"),
])
def test_env_placeholders_are_checked_like_the_command(value: str, expected: str) -> None:
    problems = problems_of(APP + f"env = {{ DATA = {value!r} }}\n".replace("'", '"'))
    assert len(problems) == 1 and problems[0].startswith(expected), problems


def test_env_values_are_expanded_per_slot(tmp_path: Path) -> None:
    cfg = parse(APP + 'env = { DATA = "/srv/{slot}/{version}", P = "{port}", J = "{{x}}" }\n')
    launch = expand(cfg.app, tmp_path, Slot.GREEN, 7002, "v3")
    assert launch.env["DATA"] == "/srv/green/v3" and launch.env["P"] == "7002"
    assert launch.env["J"] == "{x}", "a doubled brace is a literal one"
    assert launch.env["BLUEGREEN_APP"] == "web" and launch.env["BLUEGREEN_STATE_DIR"] == str(
        tmp_path)


# -- nginx off a normal user's PATH -------------------------------------------------------------



@pytest.fixture
def sbin(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A user's PATH without nginx, and an sbin folder that has it."""
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    folder = tmp_path / "sbin"
    monkeypatch.setattr("bluegreen_local.config.commands.SBIN_DIRS", (str(folder),))
    monkeypatch.setattr("bluegreen_local.engine.preflight.SBIN_DIRS", (str(folder),))
    return folder


def test_nginx_is_found_in_sbin_when_path_lacks_it(sbin: Path) -> None:
    nginx = executable(sbin / "nginx")
    cfg = parse(APP)
    assert cfg.nginx.binary == str(nginx)
    system = parse(APP + '[nginx]\nmode = "system"\nupstream_file = "/tmp/u.conf"\n')
    assert system.nginx.test_command == (str(nginx), "-t")
    assert preflight.nginx_program_problems(cfg) == []


def test_a_program_on_path_wins_over_sbin(sbin: Path, tmp_path: Path) -> None:
    executable(sbin / "nginx")
    mine = executable(tmp_path / "bin/nginx")
    assert parse(APP).nginx.binary == str(mine)


def test_nginx_found_nowhere_names_the_key(sbin: Path) -> None:
    cfg = parse(APP)  # not a config problem: history, down and status need no nginx
    assert cfg.nginx.binary == "nginx"
    (problem,) = preflight.nginx_program_problems(cfg)
    assert problem.startswith("nginx.binary: program 'nginx' not found on PATH (")
    assert str(sbin) in problem
    with pytest.raises(NginxError) as caught:
        preflight.check_nginx_programs(cfg)
    assert caught.value.exit_code is ExitCode.NGINX
    assert "Nothing was changed." in str(caught.value) and "full path" in str(caught.value)


def test_system_mode_names_its_command_keys(sbin: Path) -> None:
    cfg = parse(APP + '[nginx]\nmode = "system"\nupstream_file = "/tmp/u.conf"\n'
                'reload_command = "no-such-reloader now"\n')
    problems = preflight.nginx_program_problems(cfg)
    assert [p.split(":")[0] for p in problems] == ["nginx.test_command", "nginx.reload_command"]


def test_an_nginx_path_is_kept_as_written(sbin: Path) -> None:
    cfg = parse(APP + '[nginx]\nbinary = "/opt/nginx/sbin/nginx"\n')
    assert cfg.nginx.binary == "/opt/nginx/sbin/nginx"
    (problem,) = preflight.nginx_program_problems(cfg)
    assert problem.startswith("nginx.binary: program '/opt/nginx/sbin/nginx' cannot be run")


def test_an_empty_binary_is_refused() -> None:
    assert problems_of(APP + '[nginx]\nbinary = ""\n') == [
        "nginx.binary: must name a program to run"]
