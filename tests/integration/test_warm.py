"""The warm old slot ([deploy] keep_old): rollback is a flip, finalize and reap stop it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator

import psutil
import pytest
from helpers import poll
from loadgen import Load

from bluegreen_local.engine import reaperd
from integration.support import Project, get, simulate_reboot

pytestmark = pytest.mark.nginx


def _keep_old(project: Project, keep: str) -> None:
    project.write_config()
    with project.config.open("a") as f:
        f.write(f'[deploy]\nkeep_old = "{keep}"\n')


def _instances(project: Project) -> dict[str, dict[str, object]]:
    found = project.state().get("instances", [])
    assert isinstance(found, list)
    return {str(i["slot"]): i for i in found}


def _pid(project: Project, slot: str) -> int:
    handle = _instances(project)[slot]["handle"]
    assert isinstance(handle, dict)
    return int(handle["pid"])


def _until(project: Project) -> float:
    until = _instances(project)["blue"]["until"]
    assert isinstance(until, float)
    return until


def _gone(pid: int) -> bool:
    return not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def _deployed_with_warm(project: Project, keep: str) -> int:
    """v1 then v2 with keep_old: v1 keeps running, out of the upstream; its pid."""
    _keep_old(project, keep)
    project.cli_json("deploy", "v1")
    project.cli_json("deploy", "v2")
    assert _instances(project)["blue"]["role"] == "warm" and _until(project) > time.time()
    pid = _pid(project, "blue")
    assert get(project.ports[0]) == (200, "hello from v1\n"), "the warm slot still answers"
    assert project.serve() == (200, "hello from v2\n")
    return pid


def test_rollback_to_the_warm_slot_is_a_flip_under_load(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    warm_pid = _deployed_with_warm(project, "5m")
    bad_pid = _pid(project, "green")
    with Load("127.0.0.1", project.listen_port, threads=4, keepalive=False,
              max_seconds=120) as load:
        load.wait_for(50)
        started = time.monotonic()
        result = project.cli_json("rollback")
        # The answer comes once the bad version is drained and stopped; traffic was back
        # on v1 before that (the bench measures command start -> first v1 answer).
        took = time.monotonic() - started
        load.wait_for(load.stats.sent + 50)
        stats = load.stop()
    with capsys.disabled():
        print(f"\nrollback to warm: {took:.3f}s command, {stats.sent} requests, "
              f"{stats.failed} failed {dict(stats.failures)}")
    assert stats.failed == 0, dict(stats.failures)
    assert result["version"] == "v1" and result["slot"] == "blue"
    assert project.serve() == (200, "hello from v1\n")
    assert _pid(project, "blue") == warm_pid, "flipped, not restarted"
    assert _gone(bad_pid) and set(_instances(project)) == {"blue"}
    assert {"v1", "v2"} <= set(stats.versions)


def test_status_shows_the_warm_slot_and_its_deadline(project: Project) -> None:
    _deployed_with_warm(project, "5m")
    idle = project.cli_json("status")["idle"]
    assert isinstance(idle, dict)
    assert (idle["slot"], idle["version"], idle["role"]) == ("blue", "v1", "warm")
    assert idle["until"] == _until(project) and idle["running"] is True
    text = project.cli("status").stdout
    assert "warm until" in text and "bluegreen finalize" in text


def test_up_after_a_reboot_does_not_restart_the_warm_slot(
    project: Project
) -> None:
    _deployed_with_warm(project, "5m")
    simulate_reboot(project)
    result = project.cli_json("up")
    assert (result["slot"], result["version"]) == ("green", "v2")
    assert set(_instances(project)) == {"green"}, "only the live version came back"
    assert get(project.ports[0])[0] == 0, "the warm slot's port stays closed"


def test_finalize_stops_the_warm_slot_and_then_rollback_redeploys(project: Project) -> None:
    warm_pid = _deployed_with_warm(project, "5m")
    project.cli_json("finalize")
    assert _gone(warm_pid) and set(_instances(project)) == {"green"}
    assert project.serve() == (200, "hello from v2\n")
    again = project.cli("finalize")
    assert again.returncode == 2 and "nothing is warm" in again.stderr
    assert "Traceback" not in again.stderr
    result = project.cli_json("rollback")  # nothing warm: today's redeploy path
    assert result["version"] == "v1" and project.serve() == (200, "hello from v1\n")


def test_reap_stops_the_warm_slot_once_its_deadline_passed(project: Project) -> None:
    warm_pid = _deployed_with_warm(project, "2s")
    assert project.cli_json("reap")["actions"] == [], "before the deadline: nothing to do"
    assert not _gone(warm_pid)
    poll(lambda: time.time() > _until(project), timeout=10, what="the warm deadline")
    project.cli_json("reap")
    assert _gone(warm_pid) and set(_instances(project)) == {"green"}
    assert project.serve() == (200, "hello from v2\n")
    assert project.cli_json("reap")["actions"] == [], "idempotent"


def test_an_expired_warm_slot_is_stopped_by_the_next_command(project: Project) -> None:
    warm_pid = _deployed_with_warm(project, "1s")
    poll(lambda: time.time() > _until(project), timeout=10, what="the warm deadline")
    done = project.cli("rollback")  # the deadline is enforced first: nothing warm any more
    assert done.returncode == 0, done.stderr
    assert _gone(warm_pid)
    assert project.serve() == (200, "hello from v1\n"), "redeployed, not flipped"


@pytest.fixture(autouse=True)
def reaper_cleanup(project: Project) -> Iterator[None]:
    """Stop the detached reaper this test's deploys started, by its recorded pid (it exits by
    itself once `down` leaves no deadline; this covers a test that failed half-way)."""
    yield
    proc = reaperd.running(project.state_dir)
    if proc is not None:
        with contextlib.suppress(psutil.Error):
            proc.kill()


def test_the_detached_reaper_stops_the_warm_slot_after_the_session_ends(
    project: Project
) -> None:
    _keep_old(project, "2s")
    project.cli_json("deploy", "v1")
    # The operator's SSH session: the CLI in its own session, ended once the command is done.
    cli = subprocess.Popen(project.argv("deploy", "v2", "--json"), start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, err = cli.communicate(timeout=120)
    assert cli.returncode == 0, err
    with contextlib.suppress(ProcessLookupError):
        os.killpg(cli.pid, signal.SIGKILL)  # whatever is left in that session's group
    warm_pid = _pid(project, "blue")
    reaper = reaperd.running(project.state_dir)
    assert reaper is not None and os.getsid(reaper.pid) == reaper.pid != cli.pid
    # No CLI runs from here on: the reaper alone stops v1 once keep_old has passed.
    poll(lambda: _gone(warm_pid) and set(_instances(project)) == {"green"}, timeout=30,
         what="the reaper to stop the warm slot and record it")
    assert project.serve() == (200, "hello from v2\n")
    poll(lambda: reaperd.running(project.state_dir) is None, timeout=10,
         what="the reaper to exit with no deadline left")
    assert "stopped v1" in (project.state_dir / reaperd.LOG).read_text()
