"""Security properties (SECURITY.md): private files, no shell, names only from validated values."""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import stat
import sys
import time
from pathlib import Path
from typing import Final

import pytest
from helpers import REPO

from bluegreen_local import config, nginx
from bluegreen_local.model.types import Slot
from bluegreen_local.runners.process import ProcessRunner
from hostile.support import Live

pytestmark = pytest.mark.nginx

ROOT = os.geteuid() == 0
PACKAGE: Final = REPO / "bluegreen_local"
# nginx's workers run as nobody when nginx starts as root: they must traverse (not list) these.
TRAVERSABLE: Final = {".", "nginx", "nginx/tmp"} if ROOT else set()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


# -- file permissions after a real deploy --------------------------------------------------------


@pytest.mark.parametrize(("name", "expected"), [
    ("state.json", 0o600), ("history.jsonl", 0o600), ("lock", 0o600), ("logs", 0o700),
    ("logs/blue.log", 0o600), ("nginx/conf", 0o700), ("nginx/logs", 0o700),
])
def test_state_files_are_private(live: Live, name: str, expected: int) -> None:
    assert oct(mode(live.project.state_dir / name)) == oct(expected)


@pytest.mark.parametrize("name", [".", "nginx", "nginx/tmp"])
def test_state_dirs_are_private_or_only_traversable(live: Live, name: str) -> None:
    expected = 0o711 if name in TRAVERSABLE else 0o700
    assert oct(mode(live.project.state_dir / name)) == oct(expected)


def test_nothing_in_the_state_dir_can_be_read_by_others(live: Live) -> None:
    """Even with the state dir's parent open, no other user can read a file in it."""
    root = live.project.state_dir
    readable = []
    for path in root.rglob("*"):
        info = path.lstat()
        if info.st_uid != os.geteuid() or path == root / "nginx/nginx.pid":
            continue  # nginx's temp folders (its workers' user) and its pid hold no secrets
        folders = [root, *(p for p in path.relative_to(root).parents if p != Path())]
        reachable = all(mode(root / f) & stat.S_IXOTH for f in folders)
        if reachable and info.st_mode & (stat.S_IROTH | stat.S_IWOTH) \
                and not stat.S_ISSOCK(info.st_mode):
            readable.append(f"{path.relative_to(root)} {oct(mode(path))}")
    assert readable == []


def test_no_file_in_the_state_dir_is_named_after_a_value(live: Live) -> None:
    """File names come from fixed names and the slot colours, never from the app or version."""
    root = live.project.state_dir
    allowed = {"state.json", "history.jsonl", "lock", "logs", "logs/blue.log", "logs/green.log",
               "nginx", "nginx/conf", "nginx/conf/nginx.conf", "nginx/conf/upstream.conf",
               "nginx/logs", "nginx/logs/error.log", "nginx/logs/access.log", "nginx/tmp",
               "nginx/nginx.pid", "nginx/admin.sock", "rendered.json"}
    names = {str(p.relative_to(root)) for p in root.rglob("*")
             if not p.relative_to(root).is_relative_to("nginx/tmp")}
    # Each generation's own admin socket is named after its random part.
    generation_sockets = {n for n in names if re.fullmatch(r"nginx/admin\.sock\.[0-9a-f]{8}", n)}
    assert len(generation_sockets) == 1, names
    # Each release's start settings, named after their digest (hex, validated before use).
    kept = {n for n in names if re.fullmatch(r"releases/[0-9a-f]{12}\.json", n)}
    assert kept, names
    names -= kept | {"releases"}
    assert names - generation_sockets <= allowed, names - generation_sockets - allowed
    assert all(Slot(p.stem) for p in (root / "logs").iterdir())


# -- StrictModes, end to end: a world-writable config stops the deploy (the corpus has more) ------


@pytest.mark.skipif(not ROOT, reason="only root refuses a config file others can change")
def test_a_world_writable_config_is_refused_as_root(live: Live) -> None:
    live.project.config.chmod(0o646)
    try:
        done = live.project.cli("deploy", "v2")
    finally:
        live.restore()
    assert done.returncode == 3
    assert "refuses a config file writable by everyone (mode 0646)" in done.stderr
    assert f"Fix: chmod go-w {live.project.config}" in done.stderr
    live.assert_untouched()


# -- values reach programs only as argv elements and environment variables -----------------------


DUMP = """import json, os, sys
with open(os.environ["DUMP_TO"], "w") as f:
    json.dump({"argv": sys.argv[1:], "env": {k: v for k, v in os.environ.items()
                                             if k.startswith(("EVIL", "BLUEGREEN", "PORT"))}}, f)
"""
EVIL: Final = ("$(touch {canary})", "`touch {canary}`", "; touch {canary}", "&& touch {canary}",
               "| touch {canary}", "> {canary}", "'\"", "\\", "*", "~", "$HOME", "\n")


def _dump_config(tmp: Path, command: str, extra: str = "") -> config.Config:
    (tmp / "dump.py").write_text(DUMP, encoding="utf-8")
    env = ", ".join(f"EVIL{i} = {json.dumps(v.format(canary=tmp / 'canary'))}"
                    for i, v in enumerate(EVIL))
    text = (f'state_dir = "{tmp}/state"\n[app]\nname = "dump"\n'
            f"command = {json.dumps(command)}\n"
            f'env = {{ DUMP_TO = "{tmp}/out.json", {env} }}\n{extra}')
    return config.parse(text, tmp / "bluegreen.toml")


def test_config_values_reach_the_app_as_argv_and_env_only(tmp_path: Path) -> None:
    expected = [e.format(canary=tmp_path / "canary") for e in EVIL if "\n" not in e]
    words = shlex.join(expected).replace("{", "{{").replace("}", "}}")
    cfg = _dump_config(tmp_path, f"{sys.executable} {tmp_path}/dump.py {words} {{version}}")
    runner = ProcessRunner(cfg.app, cfg.state_dir)
    proc = runner.start(Slot.GREEN, 7002, "1.0+b.2")
    deadline = time.monotonic() + 10
    while runner.alive(proc) and time.monotonic() < deadline:
        time.sleep(0.01)
    seen = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert seen["argv"] == [*expected, "1.0+b.2"]
    for i, value in enumerate(EVIL):
        assert seen["env"][f"EVIL{i}"] == value.format(canary=tmp_path / "canary")
    assert seen["env"]["BLUEGREEN_VERSION"] == "1.0+b.2"
    assert (seen["env"]["PORT"], seen["env"]["BLUEGREEN_SLOT"]) == ("7002", "green")
    assert not (tmp_path / "canary").exists(), "a shell ran"


def test_nginx_commands_run_without_a_shell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    canary = tmp_path / "canary"
    command = f"{sys.executable} {tmp_path}/dump.py '$(touch {canary})' ';' 'touch {canary}'"
    extra = (f'[nginx]\nmode = "system"\nupstream_file = "{tmp_path}/u.conf"\n'
             f'admin_socket = "{tmp_path}/a.sock"\n'
             f"test_command = {json.dumps(command)}\n")
    cfg = _dump_config(tmp_path, "x", extra)
    monkeypatch.setenv("DUMP_TO", str(tmp_path / "out.json"))
    nginx.test(cfg)
    seen = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert seen["argv"] == [f"$(touch {canary})", ";", f"touch {canary}"]
    assert not canary.exists(), "a shell ran"


SHELL_CALLS: Final = {"system", "popen", "getoutput", "getstatusoutput",
                      "create_subprocess_shell", "spawnl", "spawnlp", "execl", "execlp"}
# proc.run for commands that finish; the two starters of long-lived detached processes: the
# process runner (the app) and the reaper (our own interpreter and module, argv only).
SUBPROCESS_DOORS: Final = {"util/proc.py", "runners/process.py", "engine/reaperd.py"}


def _calls(tree: ast.AST) -> list[ast.Call]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)]


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")),
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_shell_anywhere_in_the_package(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for call in _calls(tree):
        name = getattr(call.func, "attr", getattr(call.func, "id", ""))
        assert name not in SHELL_CALLS, f"{path.name}:{call.lineno} calls {name}"
        for keyword in call.keywords:
            is_true = isinstance(keyword.value, ast.Constant) and keyword.value.value is True
            assert not (keyword.arg == "shell" and is_true), f"{path.name}:{call.lineno}"
    uses_subprocess = any(isinstance(n, ast.Import | ast.ImportFrom) and "subprocess" in
                          ast.dump(n) for n in ast.walk(tree))
    relative = str(path.relative_to(PACKAGE))
    assert not uses_subprocess or relative in SUBPROCESS_DOORS, \
        f"{relative} starts programs outside the one door (proc.run) and the runner"
