"""deploy --dry-run against a real nginx and real app processes: the right answer, no change."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from subprocess import Popen

import psutil
import pytest

from integration.support import Project, our_processes

pytestmark = pytest.mark.nginx

Snapshot = tuple[dict[str, tuple[bytes, int]], set[int]]


def world(project: Project) -> Snapshot:
    """Every file in the state directory with its mtime, except the logs the apps and nginx
    write themselves (a health probe is a request); and every process of ours and nginx's."""
    root = project.state_dir
    files = {str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns)
             for p in root.rglob("*") if p.is_file() and "logs" not in p.relative_to(root).parts}
    procs = our_processes(root)
    if (master := project.nginx_pid()) is not None:
        procs |= {master, *(c.pid for c in psutil.Process(master).children())}
    return files, procs


def dry_run(project: Project, version: str, *flags: str) -> dict[str, object]:
    done = project.cli("deploy", version, *flags, "--json")
    assert done.returncode == 0, done.stderr
    plan: dict[str, object] = json.loads(done.stdout)
    assert plan["dry_run"] is True and plan["ok"] is True
    return plan


def test_before_the_first_deploy_it_creates_nothing(project: Project) -> None:
    plan = dry_run(project, "v1", "--dry-run")
    assert (plan["noop"], plan["changed"], plan["live"]) == (False, True, None)
    assert (plan["slot"], plan["port"], plan["idle_port"]) == ("blue", project.ports[0], "free")
    assert plan["nginx_running"] is False and plan["generation"] == "1-xxxxxxxx"
    diff = plan["nginx_diff"]
    assert isinstance(diff, str) and diff.startswith("--- /dev/null\n")
    assert f"+    server 127.0.0.1:{project.ports[0]} max_fails=0;" in diff
    assert not project.state_dir.exists()
    assert project.nginx_pid() is None and not our_processes(project.state_dir)


def test_the_live_version_is_a_noop(project: Project) -> None:
    project.cli_json("deploy", "v1")
    before = world(project)
    plan = dry_run(project, "v1", "--check")
    assert (plan["noop"], plan["changed"], plan["nginx_diff"]) == (True, False, "")
    assert (plan["slot"], plan["port"], plan["idle_port"]) == ("blue", project.ports[0], None)
    assert world(project) == before
    assert project.serve() == (200, "hello from v1\n")
    # The snapshot sees a real no-op deploy: it takes the lock, which records its holder.
    assert project.cli_json("deploy", "v1")["changed"] is False
    assert world(project) != before


def test_a_new_version_shows_the_port_change_and_the_deploy_does_it(project: Project) -> None:
    project.cli_json("deploy", "v1")
    before = world(project)
    plan = dry_run(project, "v2", "--dry-run")
    assert (plan["noop"], plan["slot"], plan["port"]) == (False, "green", project.ports[1])
    assert plan["live"] == {"slot": "blue", "port": project.ports[0], "version": "v1"}
    diff = plan["nginx_diff"]
    assert isinstance(diff, str) and plan["generation"] == "2-xxxxxxxx"
    assert f"-    server 127.0.0.1:{project.ports[0]} max_fails=0;" in diff
    assert f"+    server 127.0.0.1:{project.ports[1]} max_fails=0;" in diff
    human = project.cli("deploy", "v2", "--dry-run")
    assert human.returncode == 0 and "nothing was changed" in human.stdout
    assert world(project) == before, "a dry run writes, starts and stops nothing"

    done = project.cli_json("deploy", "v2")
    assert (done["slot"], done["port"]) == (plan["slot"], plan["port"])
    # With the real token in place of the placeholder, the plan's new lines are the file's.
    token = re.search(r"^# generation 2-(\w+):", project.upstream_file.read_text(), re.M)
    assert token is not None
    added = [line[1:].replace("xxxxxxxx", token[1]) for line in diff.splitlines()
             if line.startswith("+") and not line.startswith("+++")]
    assert set(added) <= set(project.upstream_file.read_text().splitlines())


def test_a_foreign_listener_exits_7_and_changes_nothing(
        project: Project, foreign_listener: Callable[[int], Popen[bytes]]) -> None:
    project.cli_json("deploy", "v1")
    stranger = foreign_listener(project.ports[1])
    before = world(project)
    done = project.cli("deploy", "v2", "--dry-run", "--json")
    assert done.returncode == 7, done.stderr
    error = json.loads(done.stdout)
    assert (error["ok"], error["kind"], error["exit_code"]) == (False, "port", 7)
    assert "which bluegreen did not start" in error["error"]
    assert world(project) == before
    assert stranger.poll() is None, "the stranger is left running"
    assert project.serve() == (200, "hello from v1\n")
