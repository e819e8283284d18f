"""Programs found as exec finds them, before anything starts; `check`'s look-ups; which of our
apps holds a port."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import LISTENER, executable, free_port, poll

from bluegreen_local import config
from bluegreen_local.engine.preflight import port_owner_message
from bluegreen_local.model.errors import ExitCode, RunnerError
from bluegreen_local.model.types import Slot
from bluegreen_local.runners import make_runner
from bluegreen_local.runners.launch import APP_MARKER, MARKER
from bluegreen_local.runners.marks import mark_of
from bluegreen_local.store.state import State
from bluegreen_local.usecases.lookups import command_item, lookup_items, ports_item
from bluegreen_local.util.which import find_program


def app_config(folder: Path, command: str, *, extra: str = "", name: str = "web",
               ports: tuple[int, int] | None = None) -> config.Config:
    ports = ports or (free_port(), free_port())
    text = (f'state_dir = "{folder}/state-{name}"\n[app]\nname = "{name}"\n'
            f"command = {command!r}\nports = [{ports[0]}, {ports[1]}]\n{extra}"
            f'[nginx]\nlisten = "127.0.0.1:{free_port()}"\n')
    path = folder / f"{name}.toml"
    path.write_text(text.replace("'", '"'))
    return config.load(path)


# -- find_program -------------------------------------------------------------------------------


def test_a_bare_name_is_looked_up_on_path_then_in_extra_dirs(tmp_path: Path) -> None:
    late = executable(tmp_path / "sbin/tool")
    assert find_program("tool", search_path=str(tmp_path / "bin"),
                        extra_dirs=(str(tmp_path / "sbin"),)).path == late
    early = executable(tmp_path / "bin/tool")
    assert find_program("tool", search_path=str(tmp_path / "bin"),
                        extra_dirs=(str(tmp_path / "sbin"),)).path == early


def test_a_missing_name_says_where_it_looked(tmp_path: Path) -> None:
    found = find_program("nope", search_path="/a:/b", extra_dirs=("/b", "/usr/sbin"))
    assert found.path is None
    assert found.problem == "program 'nope' not found on PATH (/a:/b) or in /usr/sbin"


def test_a_path_with_a_slash_is_taken_from_the_working_directory(tmp_path: Path) -> None:
    prog = executable(tmp_path / "rel/bin/app")
    assert find_program("./bin/app", search_path="", cwd=tmp_path / "rel").path == prog
    assert find_program(str(prog), search_path="").path == prog
    missing = find_program("./bin/app", search_path="", cwd=tmp_path)
    assert missing.path is None and "No such file or directory" in missing.problem


def test_a_file_without_its_x_bit_is_refused(tmp_path: Path) -> None:
    """Root too: exec wants at least one x bit, whoever runs it."""
    (tmp_path / "plain").write_text("x")
    (tmp_path / "plain").chmod(0o644)
    assert "not executable" in find_program(str(tmp_path / "plain"), search_path="").problem


def test_a_directory_is_not_a_program(tmp_path: Path) -> None:
    assert "is a directory" in find_program(str(tmp_path), search_path="").problem


def test_a_program_from_a_relative_workdir_is_found_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prog = executable(tmp_path / "rel/run")
    monkeypatch.chdir(tmp_path)
    found = find_program("./run", search_path="", cwd=Path("rel"))
    assert found.path is not None and found.path.is_absolute()
    assert found.path.resolve() == prog


# -- before a slot starts -----------------------------------------------------------------------


def test_a_missing_program_stops_the_start_before_anything_runs(tmp_path: Path) -> None:
    cfg = app_config(tmp_path, "no-such-program-bg --port {port}")
    runner = make_runner(cfg)
    with pytest.raises(RunnerError) as caught:
        runner.start(Slot.BLUE, cfg.app.ports[0], "v1")
    assert caught.value.exit_code is ExitCode.HEALTH  # 4: the new version could not start
    text = str(caught.value)
    assert text.startswith("cannot start blue: app.command: program 'no-such-program-bg' not "
                           "found on PATH") and "Nothing was started" in text
    assert not (cfg.state_dir / "logs/blue.log").exists(), "nothing was spawned"


def test_the_apps_own_path_and_workdir_find_the_program(tmp_path: Path) -> None:
    """PATH from app.env (with placeholders), ./paths from app.workdir: as the app will run."""
    out = tmp_path / "env.txt"
    body = f'echo "$DATA $PWD" > {out}'
    executable(tmp_path / "v1/bin/server", body)
    executable(tmp_path / "green/run", body)
    cfg = app_config(tmp_path, "server", extra=f'env = {{ PATH = "{tmp_path}/{{version}}/bin", '
                                               'DATA = "{slot}-{port}" }\n')
    runner = make_runner(cfg)
    inst = runner.start(Slot.BLUE, cfg.app.ports[0], "v1")
    wait_for(out)
    runner.stop(inst, 2.0)  # it has exited: this reaps it
    assert out.read_text() == f"blue-{cfg.app.ports[0]} {Path.cwd()}\n"
    out.unlink()
    cfg = app_config(tmp_path, "./run", extra=f'workdir = "{tmp_path}/{{slot}}"\n', name="w2")
    runner = make_runner(cfg)
    inst = runner.start(Slot.GREEN, cfg.app.ports[1], "v1")
    wait_for(out)
    runner.stop(inst, 2.0)
    assert out.read_text().endswith(f" {tmp_path}/green\n")


def wait_for(path: Path) -> None:
    poll(lambda: path.exists() and path.read_text().endswith("\n"), what=f"{path} to be written")


# -- check's items ------------------------------------------------------------------------------


def test_check_fails_on_a_missing_command(tmp_path: Path) -> None:
    item = command_item(app_config(tmp_path, "no-such-program-bg {port}"))
    assert not item.ok and item.name == "command"
    assert item.detail.startswith("app.command: program 'no-such-program-bg' not found")
    assert item.detail.endswith("give its full path or set PATH in app.env")


def test_check_says_where_the_command_is(tmp_path: Path) -> None:
    item = command_item(app_config(tmp_path, f"{sys.executable} app.py {{port}}"))
    assert item.ok and item.detail == f"{sys.executable} is {sys.executable}"


def test_check_names_a_missing_workdir(tmp_path: Path) -> None:
    cfg = app_config(tmp_path, "./run", extra=f'workdir = "{tmp_path}/gone"\n')
    item = command_item(cfg)
    assert not item.ok and item.detail == f"app.workdir {tmp_path}/gone does not exist"


def test_check_leaves_a_versioned_command_to_the_deploy(tmp_path: Path) -> None:
    cfg = app_config(tmp_path, "/srv/app/{version}/bin/server")
    item = command_item(cfg)
    assert item.ok and "depends on {version}" in item.detail


def test_check_warns_about_ports_another_config_here_uses(tmp_path: Path) -> None:
    one = app_config(tmp_path, "true", name="one", ports=(17301, 17302))
    assert ports_item(one) is None, "alone in its folder"
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    app_config(tmp_path, "true", name="two", ports=(17302, 17303))
    item = ports_item(one)
    assert item is not None and item.ok and item.warning, "a warning, not a failure"
    assert item.detail.startswith("two.toml (app two) also uses port 17302.")
    assert [i.name for i in lookup_items(one)] == ["command", "nginx programs", "ports"]


# -- who holds the idle port --------------------------------------------------------------------


def test_a_mark_is_read_from_the_process_or_its_ancestors() -> None:
    env = {MARKER: "/var/lib/bluegreen/shop", "BLUEGREEN_SLOT": "blue",
           "BLUEGREEN_VERSION": "v7"}
    mark = mark_of(42, [{}, {**env, APP_MARKER: "shop-api"}])
    assert mark is not None and (mark.app, mark.slot, mark.version) == ("shop-api", "blue", "v7")
    assert mark.describe() == ("our app shop-api (blue slot, v7, state dir "
                               "/var/lib/bluegreen/shop, pid 42)")
    older = mark_of(43, [env])
    assert older is not None and older.app == "shop", "before the name was marked"
    assert mark_of(44, [{}, {"PATH": "/bin"}]) is None


@pytest.fixture
def other_app(tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """A listener started as another app's slot process would be (its marker set)."""
    port = free_port()
    env = {**os.environ, MARKER: str(tmp_path / "other-state"), APP_MARKER: "other",
           "BLUEGREEN_SLOT": "green", "BLUEGREEN_VERSION": "v9"}
    child = subprocess.Popen([sys.executable, "-c", LISTENER, str(port)], env=env,
                             stdout=subprocess.PIPE)
    try:
        assert child.stdout is not None and child.stdout.readline() == b"listening\n"
        yield port, child
    finally:
        child.kill()
        child.wait()


def test_the_idle_port_held_by_another_app_of_ours_names_it(
    tmp_path: Path, other_app: tuple[int, subprocess.Popen[bytes]]
) -> None:
    port, child = other_app
    cfg = app_config(tmp_path, "true", ports=(port, free_port()))
    text = port_owner_message(make_runner(cfg), State(), Slot.BLUE, port,
                              state_dir=cfg.state_dir)
    assert text.startswith(f"port {port} (blue slot) is taken by our app other (green slot, "
                           f"v9, state dir {tmp_path}/other-state, pid {child.pid})")
    assert "Nothing was changed." in text and "app.ports" in text
    own = port_owner_message(make_runner(cfg), State(), Slot.BLUE, port,
                             state_dir=tmp_path / "other-state")
    assert "process of this app" in own and "bluegreen recover" in own

