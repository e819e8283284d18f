"""The deploy lifecycle against a real nginx and real app processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable

import psutil
import pytest
from helpers import poll
from loadgen import Load

from integration.support import Project, get

pytestmark = pytest.mark.nginx


def test_first_deploy_serves_through_nginx(project: Project) -> None:
    result = project.cli_json("deploy", "v1")
    assert result["ok"] is True and result["changed"] is True
    assert result["slot"] == "blue" and result["port"] == project.ports[0]
    assert result["previous"] is None
    timings = result["timings"]
    assert isinstance(timings, dict)
    assert set(timings) >= {"start", "healthy", "switch", "drain", "stop", "total"}
    assert project.serve() == (200, "hello from v1\n")
    # The app runs detached from the CLI: in its own session, surviving the CLI's exit.
    (pid,) = project.slot_pids()
    assert os.getsid(pid) == pid
    assert (project.state_dir / "logs/blue.log").read_text().count("listening on") == 1


def test_deploy_v2_moves_traffic_and_stops_old(project: Project) -> None:
    project.cli_json("deploy", "v1")
    old_pid = project.slot_pids().pop()
    result = project.cli_json("deploy", "v2")
    assert (result["slot"], result["port"]) == ("green", project.ports[1])
    assert result["previous"] == {"slot": "blue", "port": project.ports[0], "version": "v1"}
    assert project.serve() == (200, "hello from v2\n")
    assert not psutil.pid_exists(old_pid) or psutil.Process(old_pid).status() == "zombie"
    assert get(project.ports[0])[0] == 0, "the old slot's port must be closed"
    assert len(project.slot_pids()) == 1


def test_redeploying_the_live_version_is_a_noop(project: Project) -> None:
    project.cli_json("deploy", "v1")
    pid = project.slot_pids()
    upstream = project.upstream_file.read_bytes()
    again = project.cli_json("deploy", "v1")
    assert again["changed"] is False and again["ok"] is True
    assert project.slot_pids() == pid
    assert project.upstream_file.read_bytes() == upstream
    forced = project.cli_json("deploy", "v1", "--force")
    assert forced["changed"] is True and forced["slot"] == "green"


def test_rollback_returns_to_previous_version(project: Project) -> None:
    project.cli_json("deploy", "v1")
    project.cli_json("deploy", "v2")
    result = project.cli_json("rollback")
    assert result["version"] == "v1" and result["action"] == "rollback"
    assert result["slot"] == "blue"
    assert project.serve() == (200, "hello from v1\n")
    events = project.cli_json("history", "-n", "1")["events"]
    assert isinstance(events, list)
    assert events[0]["action"] == "rollback" and events[0]["version"] == "v1"


def test_rollback_without_previous_fails_cleanly(project: Project) -> None:
    project.cli_json("deploy", "v1")
    done = project.cli("rollback")
    assert done.returncode == 2
    assert "nothing to roll back to" in done.stderr and "Traceback" not in done.stderr
    assert project.serve() == (200, "hello from v1\n")


def test_unhealthy_version_never_gets_traffic(project: Project) -> None:
    project.cli_json("deploy", "v1")
    live_pid = project.slot_pids()
    upstream = project.upstream_file.read_bytes()
    project.write_config(app_args="--health-status 503", deadline="2s")
    with Load("127.0.0.1", project.listen_port, threads=2, max_seconds=60) as load:
        load.wait_for(20)
        done = project.cli("deploy", "bad")
        stats = load.stop()
    assert done.returncode == 4, done.stderr
    assert "never became healthy" in done.stderr and "returned 503" in done.stderr
    assert "traffic stays on blue (v1" in done.stderr
    assert stats.failed == 0 and set(stats.versions) == {"v1"}, stats
    assert project.slot_pids() == live_pid
    assert project.upstream_file.read_bytes() == upstream
    assert get(project.ports[1])[0] == 0, "the unhealthy version must be stopped"


def test_app_that_exits_at_start_shows_its_log(project: Project) -> None:
    project.cli_json("deploy", "v1")
    project.write_config(app_args="--exit-at-start 3")
    done = project.cli("deploy", "crashy")
    assert done.returncode == 4
    assert "the process exited" in done.stderr
    assert "fatal: cannot load settings (simulated)" in done.stderr  # its own log line
    assert project.serve() == (200, "hello from v1\n")


def test_first_deploy_of_unhealthy_version_leaves_nothing_running(project: Project) -> None:
    project.write_config(app_args="--health-status 500", deadline="1s")
    done = project.cli("deploy", "v1")
    assert done.returncode == 4
    assert project.slot_pids() == set()
    assert project.nginx_pid() is None
    assert get(project.ports[0])[0] == 0


def test_foreign_process_on_idle_port_is_left_alone(
    project: Project, foreign_listener: Callable[[int], subprocess.Popen[bytes]]
) -> None:
    project.cli_json("deploy", "v1")
    state_before = project.state()
    intruder = foreign_listener(project.ports[1])
    done = project.cli("deploy", "v2")
    assert done.returncode == 7, done.stderr
    assert f"port {project.ports[1]}" in done.stderr and f"pid {intruder.pid}" in done.stderr
    assert "Nothing was changed" in done.stderr
    assert intruder.poll() is None, "the foreign process must keep running"
    assert project.state() == state_before
    assert project.serve() == (200, "hello from v1\n")


def _deploy_holding_the_lock(project: Project, startup_delay: float) -> subprocess.Popen[str]:
    """Start `deploy v2` of a slow-starting version; return once it holds the lock."""
    project.cli_json("deploy", "v1")
    project.write_config(app_args=f"--startup-delay {startup_delay}")
    first = subprocess.Popen(project.argv("deploy", "v2"), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    lock = project.state_dir / "lock"
    poll(lambda: f'"pid": {first.pid}' in lock.read_text(), what="the first deploy's lock")
    return first


def test_concurrent_deploy_is_refused_with_the_holder(project: Project) -> None:
    first = _deploy_holding_the_lock(project, startup_delay=3)
    try:
        second = project.cli("deploy", "v3")
        assert second.returncode == 6, second.stderr
        assert f"pid {first.pid}" in second.stderr and "deploy v2" in second.stderr
    finally:
        _, err = first.communicate(timeout=60)
    assert first.returncode == 0, err
    assert project.serve() == (200, "hello from v2\n")


def test_wait_lock_waits_for_the_holder(project: Project) -> None:
    first = _deploy_holding_the_lock(project, startup_delay=1)
    second = project.cli("deploy", "v3", "--wait-lock", "60s")
    first.communicate(timeout=60)
    assert first.returncode == 0 and second.returncode == 0, second.stderr
    assert project.serve() == (200, "hello from v3\n")


def test_status_reports_live_and_idle(project: Project) -> None:
    project.cli_json("deploy", "v1")
    project.cli_json("deploy", "v2")
    status = project.cli_json("status")
    live = status["live"]
    assert isinstance(live, dict)
    assert (live["slot"], live["version"], live["healthy"]) == ("green", "v2", True)
    assert live["pid"] in project.slot_pids()
    assert status["idle"] == {**status["idle"], "slot": "blue", "running": False}  # type: ignore[dict-item]
    nginx = status["nginx"]
    assert isinstance(nginx, dict) and nginx["running"] is True
    assert nginx["generation_served"] == nginx["generation_rendered"]
    assert status["problems"] == []


def test_status_json_is_the_same_from_the_fast_lane_and_the_full_cli(project: Project) -> None:
    project.cli_json("deploy", "v1")
    project.cli_json("deploy", "v2")
    (project.state_dir / "nginx/conf/upstream.conf").write_text("# edited by hand\n")
    fast = project.cli_json("status")  # `python -m bluegreen_local status --json` takes the lane
    done = subprocess.run([sys.executable, "-c", "from bluegreen_local.cli.app import main; main()",
                           "status", "--json", "-c", str(project.config)],
                          capture_output=True, text=True, timeout=60, check=True)
    full = json.loads(done.stdout)
    for doc in (fast, full):  # these move between two runs
        for slot in ("live", "idle"):
            entry = doc[slot]
            assert isinstance(entry, dict)
            doc[slot] = {k: v for k, v in entry.items() if k not in ("uptime", "memory_rss")}
    assert fast == full
    problems = fast["problems"]
    assert isinstance(problems, list) and any("differ" in p for p in problems)


def test_status_reports_a_dead_live_process(project: Project) -> None:
    project.cli_json("deploy", "v1")
    pid = project.slot_pids().pop()
    psutil.Process(pid).kill()
    poll(lambda: get(project.ports[0])[0] == 0, what="the killed app's port to close")
    status = project.cli_json("status")
    problems = status["problems"]
    assert isinstance(problems, list) and "not running" in problems[0]
    # The next deploy recovers: it starts on a slot and nginx follows.
    project.cli_json("deploy", "v1")
    assert project.serve() == (200, "hello from v1\n")


def test_down_stops_everything(project: Project) -> None:
    project.cli_json("deploy", "v1")
    project.cli_json("deploy", "v2")
    pids = project.slot_pids()
    master = project.nginx_pid()
    assert master is not None
    result = project.cli_json("down")
    assert result["changed"] is True and result["nginx_stopped"] is True
    for pid in [*pids, master]:
        poll(lambda p=pid: not psutil.pid_exists(p)  # type: ignore[misc]
             or psutil.Process(p).status() == "zombie", what=f"pid {pid} to exit")
    assert project.serve()[0] == 0
    assert project.cli_json("down")["changed"] is False
    # And it comes back from nothing.
    project.cli_json("deploy", "v3")
    assert project.serve() == (200, "hello from v3\n")


def test_history_records_every_outcome(project: Project) -> None:
    project.cli_json("deploy", "v1")
    project.write_config(app_args="--exit-at-start 1")
    assert project.cli("deploy", "v2").returncode == 4
    done = project.cli("history", "--json")
    events = json.loads(done.stdout)["events"]
    assert [(e["action"], e["outcome"], e["version"]) for e in events] == [
        ("deploy", "failed", "v2"), ("deploy", "ok", "v1")]
    assert all(e["user"] for e in events)
