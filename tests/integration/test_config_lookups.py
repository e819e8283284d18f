"""What a deploy and `check` find out before anything starts: the app's program, nginx off a
normal user's PATH, and another app of ours on the same ports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import free_port

from integration.support import Project, our_processes

pytestmark = pytest.mark.nginx


def with_command(project: Project, program: str) -> None:
    text = project.config.read_text()
    project.config.write_text(text.replace(f'command = "{sys.executable} ',
                                           f'command = "{program} '))


def cli_with(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI on another config than the project's."""
    return subprocess.run([sys.executable, "-m", "bluegreen_local", *args, "-c", str(config)],
                          capture_output=True, text=True, timeout=120, check=False)


def history(project: Project) -> list[dict[str, object]]:
    events: list[dict[str, object]] = project.cli_json("history")["events"]  # type: ignore[assignment]
    return events


def test_a_missing_program_fails_check_and_the_deploy_and_is_recorded(project: Project) -> None:
    with_command(project, "no-such-program-bg")
    done = project.cli("check")
    assert done.returncode == 3, done.stdout + done.stderr
    assert "app.command: program 'no-such-program-bg' not found on PATH" in done.stdout
    done = project.cli("deploy", "v1")
    assert done.returncode == 4, done.stderr
    assert "cannot start blue: app.command: program 'no-such-program-bg' not found" in done.stderr
    (event,) = history(project)
    assert (event["action"], event["outcome"], event["version"]) == ("deploy", "failed", "v1")
    assert "no-such-program-bg" in str(event["message"])
    assert our_processes(project.state_dir) == set() and project.nginx_pid() is None


def test_a_missing_program_leaves_the_live_version_serving(project: Project) -> None:
    project.cli_json("deploy", "v1")
    with_command(project, "./bin/gone")
    done = project.cli("deploy", "v2")
    assert done.returncode == 4, done.stderr
    assert project.serve() == (200, "hello from v1\n")
    assert [(e["version"], e["outcome"]) for e in history(project)] == [
        ("v2", "failed"), ("v1", "ok")]


@pytest.mark.skipif(not any(Path(d, "nginx").exists() for d in ("/usr/sbin", "/usr/local/sbin")),
                    reason="nginx is not in an sbin folder here")
def test_nginx_in_sbin_is_found_without_it_on_path(project: Project) -> None:
    text = project.config.read_text()
    project.config.write_text(text.replace(f'binary = "{project.nginx_bin}"\n', ""))
    user_path = {**os.environ, "PATH": "/usr/bin:/bin"}
    done = project.cli("check", "--json", env=user_path)
    items = {i["name"]: i for i in json.loads(done.stdout)["items"]}
    assert done.returncode == 0 and items["nginx programs"]["ok"], done.stdout
    assert "sbin/nginx" in items["nginx programs"]["detail"]
    done = project.cli("deploy", "v1", env=user_path)
    assert done.returncode == 0, done.stderr
    assert project.serve() == (200, "hello from v1\n")


@pytest.fixture
def neighbour(project: Project) -> Iterator[Path]:
    """A second app's config next to the project's, on the same slot ports."""
    path = project.root / "neighbour.toml"
    text = project.config.read_text()
    text = text.replace(f'state_dir = "{project.state_dir}"', f'state_dir = "{project.root}/n"')
    text = text.replace('name = "itest"', 'name = "neighbour"')
    path.write_text(text.replace(f"127.0.0.1:{project.listen_port}", f"127.0.0.1:{free_port()}"))
    yield path
    cli_with(path, "down")


def test_another_app_on_our_ports_is_named(project: Project, neighbour: Path) -> None:
    done = project.cli("check", "--json")
    items = {i["name"]: i for i in json.loads(done.stdout)["items"]}
    assert done.returncode == 0, "overlapping ports are a warning"
    assert items["ports"]["warning"] is True
    assert items["ports"]["detail"].startswith(
        f"neighbour.toml (app neighbour) also uses port {project.ports[0]}, "
        f"{project.ports[1]}.")
    project.cli_json("deploy", "v1")
    done = cli_with(neighbour, "deploy", "v1")
    assert done.returncode == 7, done.stderr
    assert (f"port {project.ports[0]} (blue slot) is taken by our app itest (blue slot, v1, "
            f"state dir {project.state_dir}, pid ") in done.stderr
    assert project.serve() == (200, "hello from v1\n")
