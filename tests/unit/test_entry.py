"""The `status --json` fast lane: which command lines take it, and that it falls back."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bluegreen_local.cli.lane import status_json_config

FULL_CLI = "from bluegreen_local.cli.app import main; main()"


@pytest.mark.parametrize(("argv", "expected"), [
    (["status", "--json"], (None,)),
    (["status", "--json", "-c", "a.toml"], (Path("a.toml"),)),
    (["status", "-c", "a.toml", "--json"], (Path("a.toml"),)),
    (["status", "--config", "a.toml", "--json"], (Path("a.toml"),)),
    (["status", "--json", "--config=a b.toml"], (Path("a b.toml"),)),
])
def test_the_fast_lane_takes_status_json(argv: list[str], expected: tuple[Path | None]) -> None:
    assert status_json_config(argv) == expected


@pytest.mark.parametrize("argv", [
    [], ["status"], ["--json", "status"], ["status", "--help", "--json"],
    ["status", "--json", "--json"], ["status", "--json", "-c"], ["status", "--json", "-c", ""],
    ["status", "--json", "-c", "a", "-c", "b"], ["status", "--json", "--config="],
    ["status", "--json", "-c", "--json"], ["status", "--json", "-ca.toml"],
    ["status", "--json", "extra"], ["history", "--json"], ["deploy", "v1", "--json"],
])
def test_every_other_command_line_goes_to_the_full_cli(argv: list[str]) -> None:
    assert status_json_config(argv) is None


def run(args: list[str], *, full: bool, cwd: Path) -> subprocess.CompletedProcess[str]:
    lane = ["-c", FULL_CLI] if full else ["-m", "bluegreen_local"]
    return subprocess.run([sys.executable, *lane, *args], capture_output=True, text=True,
                          cwd=cwd, timeout=60, check=False)


def test_an_error_in_the_lane_is_answered_by_the_full_cli(tmp_path: Path) -> None:
    (tmp_path / "bluegreen.toml").write_text('[app]\nname = "web"\nports = [1, 1]\n')
    fast = run(["status", "--json"], full=False, cwd=tmp_path)
    full = run(["status", "--json"], full=True, cwd=tmp_path)
    assert fast.returncode == full.returncode == 3
    assert json.loads(fast.stdout) == json.loads(full.stdout)
    assert json.loads(fast.stdout)["ok"] is False
    assert fast.stderr == full.stderr and "app.ports" in fast.stderr


def test_the_lane_and_the_full_cli_print_the_same_document(tmp_path: Path) -> None:
    (tmp_path / "bluegreen.toml").write_text(
        f'state_dir = "{tmp_path}/st"\n[app]\nname = "web"\ncommand = "app --port {{port}}"\n'
        'ports = [7001, 7002]\n')
    fast = run(["status", "--json"], full=False, cwd=tmp_path)
    full = run(["status", "--json"], full=True, cwd=tmp_path)
    assert fast.returncode == full.returncode == 0, fast.stderr + full.stderr
    assert fast.stdout == full.stdout
    assert json.loads(fast.stdout)["app"] == "web"


LANE_IMPORTS = """import sys
sys.argv = ["bluegreen", "status", "--json", "-c", sys.argv[1]]
from bluegreen_local.cli.lane import main
main()
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("typer", "rich", "click"))
print("loaded:", loaded, file=sys.stderr)
"""


def test_the_lane_answers_without_typer_or_rich(tmp_path: Path) -> None:
    config = tmp_path / "bluegreen.toml"
    config.write_text(f'state_dir = "{tmp_path}/st"\n[app]\nname = "web"\n'
                      'command = "app --port {port}"\n')
    done = subprocess.run([sys.executable, "-c", LANE_IMPORTS, str(config)], capture_output=True,
                          text=True, cwd=tmp_path, timeout=60, check=True)
    assert json.loads(done.stdout)["schema"] == 1
    assert "loaded: []" in done.stderr, done.stderr
