"""The switch prepared while the new version boots: staged nginx files, tested before the
switch, leave nothing behind, and a configuration nginx refuses still changes nothing."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import psutil
import pytest
from helpers import poll
from loadgen import Load

from integration.support import Project

pytestmark = pytest.mark.nginx

STAGED = "*.bluegreen-staged"


def _leftovers(root: Path) -> list[Path]:
    return sorted(root.rglob(STAGED))


def _logged_nginx(project: Project) -> Path:
    """The real nginx behind a wrapper that logs each command line first."""
    calls = project.root / "nginx-calls"
    wrapper = project.root / "nginx.sh"
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> {shlex.quote(str(calls))}\n'
                       f'exec {shlex.quote(project.nginx_bin)} "$@"\n')
    wrapper.chmod(0o755)
    project.nginx_bin = str(wrapper)
    project.write_config()
    return calls


def test_the_switch_only_renames_what_was_tested_while_booting(project: Project) -> None:
    calls = _logged_nginx(project)
    project.cli_json("deploy", "v1")
    calls.write_text("")
    project.cli_json("deploy", "v2")
    tests = [line for line in calls.read_text().splitlines() if " -t" in line]
    conf = project.state_dir / "nginx/conf"
    # Preflight tests what runs; the staged test the next files; the switch tests nothing.
    assert len(tests) == 2, tests
    assert f"-c {conf}/nginx.conf " in tests[0]
    assert f"-c {conf}/.nginx-test.conf.bluegreen-staged " in tests[1]
    assert project.serve() == (200, "hello from v2\n")
    assert _leftovers(project.root) == []


def test_no_staged_file_is_left_behind(project: Project) -> None:
    project.cli_json("deploy", "v1")
    project.cli_json("deploy", "v2")
    assert _leftovers(project.root) == []
    project.write_config(app_args="--health-status 503", deadline="1s")
    assert project.cli("deploy", "v3").returncode == 4
    assert _leftovers(project.root) == [], "a failed health gate removes the staged files"
    # A run killed between staging and switching leaves its copies; nginx never reads them,
    # and the next run, even one that changes nothing, removes them.
    project.write_config()
    stray = project.upstream_file.with_name(".upstream.conf.bluegreen-staged")
    stray.write_text("upstream half {")
    assert project.cli_json("deploy", "v2")["changed"] is False
    assert _leftovers(project.root) == []
    assert project.serve() == (200, "hello from v2\n")


def test_a_reload_nginx_refuses_after_staging_changes_nothing(project: Project) -> None:
    """`nginx -t` never binds, so a file in the way of the new generation's own socket passes
    the staged test and fails only the reload: confirm() catches it, the old files come
    back and traffic never moves."""
    project.cli_json("deploy", "v1")
    upstream, pids = project.upstream_file.read_bytes(), project.slot_pids()
    project.write_config(app_args="--startup-delay 2", nginx='reload_timeout = "4s"')
    copy = project.upstream_file.with_name(".upstream.conf.bluegreen-staged")
    with Load("127.0.0.1", project.listen_port, threads=2, max_seconds=60) as load:
        load.wait_for(20)
        deploy = subprocess.Popen(project.argv("deploy", "v2"), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        poll(copy.exists, what="the staged upstream file")
        # A stale socket file, as a killed nginx leaves them (nginx never unlinks one).
        Path(re.findall(r"listen unix:(\S+);", copy.read_text())[-1]).write_text("")
        _, stderr = deploy.communicate(timeout=60)
        stats = load.stop()
    assert deploy.returncode == 5, stderr
    assert "did not load the new configuration" in stderr and "Address already in use" in stderr
    assert "v2 on green was stopped" in stderr
    assert stats.failed == 0 and set(stats.versions) == {"v1"}, dict(stats.failures)
    assert project.upstream_file.read_bytes() == upstream and project.slot_pids() == pids
    assert _leftovers(project.root) == []
    project.write_config()
    project.cli_json("deploy", "v2")
    assert project.serve() == (200, "hello from v2\n")


def test_a_staged_config_nginx_refuses_fails_as_it_always_did(project: Project) -> None:
    """nginx stopped, so no preflight test: the staged test is the first to see the refusal,
    and the deploy fails with the switch's own message, naming the real files."""
    project.cli_json("deploy", "v1")
    master = project.nginx_pid()
    assert master is not None
    psutil.Process(master).terminate()
    poll(lambda: project.serve()[0] == 0, what="nginx to stop")
    access_log = project.state_dir / "nginx/logs/access.log"
    access_log.unlink()
    access_log.mkdir()  # every nginx -t now refuses: open() "...access.log" failed
    upstream, pids = project.upstream_file.read_bytes(), project.slot_pids()
    done = project.cli("deploy", "v2")
    assert done.returncode == 5, done.stderr
    assert "nginx refused the configuration" in done.stderr
    assert f"{project.state_dir}/nginx/conf/nginx.conf test failed" in done.stderr
    assert "bluegreen-staged" not in done.stderr
    assert "v2 on green was stopped" in done.stderr
    assert project.upstream_file.read_bytes() == upstream and project.slot_pids() == pids
    assert _leftovers(project.root) == []
    access_log.rmdir()
    project.cli_json("deploy", "v2")
    assert project.serve() == (200, "hello from v2\n")
