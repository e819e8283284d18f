"""`status --check`: an exit code for monitoring, drift told apart from a deploy under way."""

from __future__ import annotations

import json
import os
import time

import psutil
import pytest
from helpers import poll

from integration.support import Project

pytestmark = pytest.mark.nginx


def _check(project: Project) -> tuple[int, dict[str, object], str]:
    done = project.cli("status", "--check", "--json")
    return done.returncode, json.loads(done.stdout), done.stderr


def test_status_check_exit_codes_follow_the_drift(project: Project) -> None:
    assert project.cli("deploy", "v1").returncode == 0
    code, doc, _ = _check(project)
    assert (code, doc["problems"], doc["drift_exit_code"]) == (0, [], 0)

    # nginx's side: 5, and plain `status` still exits 0.
    master = project.nginx_pid()
    assert master is not None
    psutil.Process(master).terminate()
    poll(lambda: not psutil.pid_exists(master), what="nginx to exit")
    code, doc, _ = _check(project)
    assert code == 5 and doc["drift_exit_code"] == 5, doc
    assert "nginx is not running" in str(doc["problems"])
    assert project.cli("status").returncode == 0

    # The app's side comes first: 4.
    (pid,) = project.slot_pids()
    psutil.Process(pid).kill()
    poll(lambda: not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie",
         what="the app to exit")
    code, doc, _ = _check(project)
    assert code == 4, doc

    assert project.cli("up").returncode == 0
    assert _check(project)[0] == 0


def test_a_deploy_in_progress_is_labelled_not_drift(project: Project) -> None:
    assert project.cli("deploy", "v1").returncode == 0
    # The journal a running deploy keeps, owned by a live process (this test's).
    journal = {"action": "deploy", "version": "v2", "phase": "health", "pid": os.getpid(),
               "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "old_workers": []}
    (project.state_dir / "journal.json").write_text(json.dumps(journal))
    code, doc, _ = _check(project)
    assert code == 0 and doc["problems"] == [], doc
    assert "in progress, phase health" in str(doc["in_progress"])
    text = project.cli("status")
    assert "in progress: a deploy of v2" in text.stderr and "drift:" not in text.stderr
