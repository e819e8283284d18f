"""Slot processes: whole trees stopped, interrupts before the switch, `check`, packaging."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import zipfile
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
from helpers import REPO, free_port, poll

from integration.support import Project, established, get, our_processes

pytestmark = pytest.mark.nginx


def _tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def _gone(proc: psutil.Process) -> bool:
    try:
        return proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_old_tree_is_stopped_even_when_it_ignores_sigterm(project: Project) -> None:
    project.write_config(app_args="--children 2 --ignore-term", stop_timeout="1s")
    project.cli_json("deploy", "v1")
    tree = _tree(project.slot_pids().pop())
    assert len(tree) == 3
    project.write_config()
    project.cli_json("deploy", "v2")
    assert all(_gone(p) for p in tree), [p.pid for p in tree if not _gone(p)]
    assert project.serve() == (200, "hello from v2\n")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_before_the_switch_stops_the_new_slot(
    project: Project, sig: signal.Signals
) -> None:
    project.cli_json("deploy", "v1")
    upstream = project.upstream_file.read_bytes()
    live = project.slot_pids()
    project.write_config(app_args="--startup-delay 30")
    deploy = subprocess.Popen(project.argv("deploy", "v2"), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    # Wait until the new slot process exists (recorded in state), i.e. the health gate runs.
    poll(lambda: len(project.slot_pids()) == 2, what="the new slot to start")
    new_pid = (project.slot_pids() - live).pop()
    deploy.send_signal(sig)
    _, err = deploy.communicate(timeout=60)
    assert deploy.returncode == 130, err
    assert "interrupted before the switch" in err and "traffic stays on blue (v1" in err
    assert new_pid not in our_processes(project.state_dir), "the new slot must be stopped"
    assert project.slot_pids() == live
    assert project.upstream_file.read_bytes() == upstream
    assert project.serve() == (200, "hello from v1\n")
    assert get(project.ports[1])[0] == 0


def test_check_reports_ports_and_nginx(project: Project) -> None:
    done = project.cli("check", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["ok"] is True
    names = {item["name"] for item in result["items"]}
    assert {"config", "nginx", f"port {project.ports[0]}", f"port {project.ports[1]}"} <= names
    assert not (project.state_dir / "nginx").exists(), "check must not change anything"


def test_check_fails_on_a_taken_port(
    project: Project, foreign_listener: Callable[[int], subprocess.Popen[bytes]]
) -> None:
    foreign_listener(project.ports[1])
    done = project.cli("check")
    assert done.returncode == 3
    assert f"port {project.ports[1]}" in done.stdout and "FAIL" in done.stdout


def test_wheel_ships_the_templates(tmp_path: Path) -> None:
    """`pip install .` must carry templates/ inside the package (hatch force-include)."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                    str(tmp_path), str(REPO)], check=True, capture_output=True)
    wheel = next(tmp_path.glob("bluegreen_local-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path / "site")
    assert {"bluegreen_local/templates/upstream.conf.j2",
            "bluegreen_local/templates/nginx.conf.j2"} <= names
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    script = "bluegreen = bluegreen_local.cli.lane:main"
    assert script in zipfile.ZipFile(wheel).read(entry).decode()
    code = "from bluegreen_local.nginx import templating; print(templating.template_dir())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=tmp_path, env={"PYTHONPATH": str(tmp_path / "site")})
    assert out.stdout.strip() == str(tmp_path / "site/bluegreen_local/templates")


def test_interrupt_after_the_switch_finishes_the_deploy(project: Project) -> None:
    """Ctrl-C during the drain: the slow request in flight still completes, v2 stays live."""
    project.cli_json("deploy", "v1")
    slow: list[tuple[int, str]] = []
    request = threading.Thread(target=lambda: slow.append(get(project.listen_port, "/slow?s=3")))
    request.start()
    poll(lambda: established(project.ports[0]) > 0, what="the slow request to reach v1")
    deploy = subprocess.Popen(project.argv("deploy", "v2"), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    poll(lambda: project.state().get("live", {}) == {"slot": "green", "port": project.ports[1],
                                                  "version": "v2"}, what="the switch to commit")
    deploy.send_signal(signal.SIGINT)
    _, err = deploy.communicate(timeout=60)
    request.join(timeout=30)
    assert deploy.returncode == 130, err
    assert "was finished first" in err and "v2 is live on green" in err
    assert slow == [(200, "slow 3s from v1\n")], "the request in flight must complete"
    assert project.serve() == (200, "hello from v2\n")
    assert len(project.slot_pids()) == 1, "the old slot is stopped after its drain"


def test_probes_ignore_http_proxy_settings(project: Project) -> None:
    env = {**os.environ, "http_proxy": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}
    done = project.cli("deploy", "v1", "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert project.cli("deploy", "v1", "--json", env=env).stdout.count('"changed": false') == 1


def test_config_change_makes_a_redeploy_real(project: Project) -> None:
    project.cli_json("deploy", "v1")
    old_listen = project.listen_port
    project.listen_port = free_port()
    project.write_config()
    result = project.cli_json("deploy", "v1")
    assert result["changed"] is True
    assert project.serve() == (200, "hello from v1\n")
    assert get(old_listen)[0] == 0


def test_down_leaves_a_foreign_nginx_alone(project: Project, nginx_bin: str) -> None:
    """A stale pid file naming another nginx (pid reuse) must not make us signal it."""
    other = project.root / "other"
    (other / "logs").mkdir(parents=True)
    port = free_port()
    (other / "nginx.conf").write_text(
        f"pid {other}/nginx.pid; error_log {other}/logs/error.log;\n"
        f"events {{}} http {{ access_log off; server {{ listen 127.0.0.1:{port}; "
        f"return 204; }} }}\n")
    subprocess.run([nginx_bin, "-p", f"{other}/", "-c", f"{other}/nginx.conf",
                    "-e", f"{other}/logs/error.log"], check=True)
    master = psutil.Process(int((other / "nginx.pid").read_text()))
    try:
        poll(lambda: get(port)[0] == 204, what="the other nginx")
        project.cli_json("deploy", "v1")
        project.cli_json("down")
        project.cli_json("deploy", "v2")
        pid_file = project.state_dir / "nginx/nginx.pid"
        ours = psutil.Process(int(pid_file.read_text()))
        dying = [ours, *ours.children()]  # workers outlive a killed master: all of it dies
        for proc in dying:
            proc.kill()  # our nginx dies; its pid file stays behind
        poll(lambda: all(_gone(p) for p in dying), what="our nginx to die")
        pid_file.write_text(f"{master.pid}\n")
        status = project.cli_json("status")
        assert status["nginx"]["running"] is False  # type: ignore[index]
        project.cli_json("down")
        assert get(port)[0] == 204 and master.is_running()
    finally:
        for proc in [master, *master.children()]:
            proc.kill()
