"""System mode: bluegreen owns one included file of an nginx it did not start."""

from __future__ import annotations

import shlex
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
from helpers import free_port, poll
from loadgen import Load

from integration.debian import HostNginx, system_settings
from integration.support import Project, get, our_processes

pytestmark = pytest.mark.nginx


@dataclass
class SystemNginx(HostNginx):
    """A hand-written site like an operator's, in the prefix; it listens on `site_port`."""

    site_port: int = 0

    @property
    def conf_d(self) -> Path:
        return self.prefix / "conf.d"


SITE = """
pid {prefix}/nginx.pid;
error_log {prefix}/error.log notice;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/tmp_body;
    proxy_temp_path {prefix}/tmp_proxy;
    fastcgi_temp_path {prefix}/tmp_fcgi;
    uwsgi_temp_path {prefix}/tmp_uwsgi;
    scgi_temp_path {prefix}/tmp_scgi;
    include {prefix}/conf.d/*.conf;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://bluegreen_itest;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
}}
"""


@pytest.fixture
def system_nginx(project: Project) -> Iterator[SystemNginx]:
    """Write a site like an operator's and point the project at it in system mode."""
    prefix = project.root / "sys"
    ngx = SystemNginx(project.nginx_bin, prefix, prefix / "nginx.conf", prefix / "error.log",
                      prefix / "nginx.pid", free_port())
    ngx.conf_d.mkdir(parents=True)
    (prefix / "nginx.conf").write_text(SITE.format(prefix=prefix, port=ngx.site_port))
    project.write_config(nginx=_system_settings(project, ngx))
    # The site proxies to our upstream, so nginx can start only once the file exists: `check`
    # writes it (a placeholder) as the README's steps say.
    done = project.cli("check")
    assert done.returncode == 0, done.stdout + done.stderr
    subprocess.run(ngx.argv, check=True)
    # A signal sent before the master enters its loop can be lost: wait until it serves.
    poll(lambda: site_get(ngx)[0] == 502, what="the system nginx to answer")
    yield ngx
    ngx.stop()


def site_get(ngx: SystemNginx) -> tuple[int, str]:
    return get(ngx.site_port)


def test_system_mode_deploys_without_dropping_requests(
    project: Project, system_nginx: SystemNginx
) -> None:
    project.cli_json("deploy", "v1")
    assert site_get(system_nginx) == (200, "hello from v1\n")
    with Load("127.0.0.1", system_nginx.site_port, threads=4, max_seconds=120) as load:
        load.wait_for(50)
        for version in ("v2", "v3", "v4"):
            project.cli_json("deploy", version)
        stats = load.stop()
    assert stats.failed == 0, dict(stats.failures)
    assert site_get(system_nginx) == (200, "hello from v4\n")
    # bluegreen touched only its own file.
    assert sorted(p.name for p in system_nginx.conf_d.iterdir()) == ["bluegreen-itest.conf"]


def test_someone_elses_broken_file_stops_the_deploy(
    project: Project, system_nginx: SystemNginx
) -> None:
    project.cli_json("deploy", "v1")
    ours = (system_nginx.conf_d / "bluegreen-itest.conf").read_bytes()
    pids = project.slot_pids()
    (system_nginx.conf_d / "broken.conf").write_text("server { listen 127.0.0.1:1 \n")
    done = project.cli("deploy", "v2")
    assert done.returncode == 5, done.stderr
    assert "nginx refused the configuration" in done.stderr and "broken.conf" in done.stderr
    assert (system_nginx.conf_d / "bluegreen-itest.conf").read_bytes() == ours
    assert project.slot_pids() == pids, "nothing may start while nginx -t fails"
    assert site_get(system_nginx) == (200, "hello from v1\n")
    (system_nginx.conf_d / "broken.conf").unlink()
    project.cli_json("deploy", "v2")
    assert site_get(system_nginx) == (200, "hello from v2\n")


def test_a_reload_nginx_silently_refuses_is_caught(
    project: Project, system_nginx: SystemNginx,
    foreign_listener: Callable[[int], subprocess.Popen[bytes]],
) -> None:
    """A new listen on a taken port passes nginx -t, the reload exits 0, nothing changes."""
    project.cli_json("deploy", "v1")
    ours = (system_nginx.conf_d / "bluegreen-itest.conf").read_bytes()
    pids = project.slot_pids()
    taken = free_port()
    foreign_listener(taken)
    (system_nginx.conf_d / "other.conf").write_text(
        f"server {{ listen 127.0.0.1:{taken}; return 204; }}\n")
    project.write_config(nginx=_system_settings(project, system_nginx, reload_timeout="4s"))
    done = project.cli("deploy", "v2")
    assert done.returncode == 5, done.stderr
    assert "did not load the new configuration" in done.stderr
    assert (system_nginx.conf_d / "bluegreen-itest.conf").read_bytes() == ours
    # Only the served generation's own socket is left, not the refused one's.
    assert len(list(project.root.glob("admin.sock.*"))) == 1
    assert project.slot_pids() == pids
    poll(lambda: site_get(system_nginx) == (200, "hello from v1\n"), what="v1 to serve")


def test_system_nginx_not_running_is_exit_5(project: Project, system_nginx: SystemNginx) -> None:
    pid = system_nginx.pid()
    assert pid is not None
    psutil.Process(pid).terminate()
    poll(lambda: system_nginx.pid() is None, what="nginx to exit")
    done = project.cli("deploy", "v1")
    assert done.returncode == 5, done.stderr
    assert "nginx is not running" in done.stderr
    # Refused before anything ran: no state written, no process started.
    assert not (project.state_dir / "state.json").exists()
    assert our_processes(project.state_dir) == set()


def test_nginx_down_is_said_once_the_same_way_before_anything_starts(
    project: Project, system_nginx: SystemNginx
) -> None:
    assert project.cli("deploy", "v1").returncode == 0
    live = project.slot_pids()
    pid = system_nginx.pid()
    assert pid is not None
    psutil.Process(pid).terminate()
    poll(lambda: system_nginx.pid() is None, what="nginx to exit")
    fix = "systemctl start nginx"
    for args in (("deploy", "v2"), ("deploy", "v2", "--dry-run"), ("up",)):
        done = project.cli(*args)
        assert done.returncode == 5, (args, done.stderr)
        assert "nginx is not running" in done.stderr and fix in done.stderr, done.stderr
        assert "Nothing was changed" in done.stderr, done.stderr
    # Checked first: v2 never started (no green log, no start phase), v1 kept running.
    assert not (project.state_dir / "logs/green.log").exists()
    assert project.slot_pids() == live
    status = project.cli("status")
    assert f"nginx is not running (no live nginx master in {system_nginx.pid_file}); " \
           f"start it with `{fix}`" in status.stderr, status.stderr


def test_a_configured_reload_command_replaces_the_signal(
    project: Project, system_nginx: SystemNginx
) -> None:
    # A wrapper that logs each call, then reloads the way an operator's command would.
    calls = project.root / "reload-calls"
    wrapper = project.root / "reload.sh"
    wrapper.write_text(f'#!/bin/sh\necho "$$" >> {shlex.quote(str(calls))}\n'
                       f'exec {shlex.join(system_nginx.argv)} -s reload\n')
    wrapper.chmod(0o755)
    project.write_config(nginx=_system_settings(project, system_nginx,
                                                reload_command=str(wrapper)))
    project.cli_json("deploy", "v1")
    with Load("127.0.0.1", system_nginx.site_port, threads=4, max_seconds=120) as load:
        load.wait_for(50)
        project.cli_json("deploy", "v2")
        stats = load.stop()
    # The first deploy reloads too: nginx was already running with the placeholder.
    assert len(calls.read_text().splitlines()) == 2
    assert site_get(system_nginx) == (200, "hello from v2\n")
    assert stats.ok > 0 and stats.failed == 0, dict(stats.failures)


def test_a_file_broken_while_the_new_version_boots_fails_the_reload_only(
        project: Project, system_nginx: SystemNginx) -> None:
    """System mode skips `nginx -t` when only our values change; an operator's file broken
    after the preflight test then fails the reload, which confirm() catches."""
    project.cli_json("deploy", "v1")
    ours = (system_nginx.conf_d / "bluegreen-itest.conf").read_bytes()
    pids = project.slot_pids()
    broken = system_nginx.conf_d / "broken.conf"
    # The new version's own start-up breaks it: after preflight, before the switch.
    boot = project.root / "boot.sh"
    boot.write_text(f"#!/bin/sh\nprintf 'server {{' > {shlex.quote(str(broken))}\n"
                    'exec "$@"\n')
    boot.chmod(0o755)
    text = project.config.read_text()
    project.config.write_text(text.replace(f'command = "{sys.executable}',
                                           f'command = "{boot} {sys.executable}'))
    with Load("127.0.0.1", system_nginx.site_port, threads=2, max_seconds=60) as load:
        load.wait_for(20)
        done = project.cli("deploy", "v2")
        stats = load.stop()
    assert done.returncode == 5, done.stderr
    assert "did not load the new configuration" in done.stderr and "broken.conf" in done.stderr
    assert stats.failed == 0 and set(stats.versions) == {"v1"}, dict(stats.failures)
    assert (system_nginx.conf_d / "bluegreen-itest.conf").read_bytes() == ours
    assert project.slot_pids() == pids
    assert site_get(system_nginx) == (200, "hello from v1\n")
    assert sorted(p.name for p in system_nginx.conf_d.iterdir()) == [
        "bluegreen-itest.conf", "broken.conf"]


def _system_settings(project: Project, ngx: SystemNginx, *, reload_timeout: str = "10s",
                     reload_command: str | None = None) -> str:
    return system_settings(project.root, ngx, ngx.conf_d / "bluegreen-itest.conf",
                           reload_timeout=reload_timeout, reload_command=reload_command)


def test_down_in_system_mode_says_the_site_answers_502(project: Project,
                                                       system_nginx: SystemNginx) -> None:
    project.cli_json("deploy", "v1")
    result = project.cli_json("down")
    message = result["message"]
    assert isinstance(message, str)
    assert "502" in message and "`bluegreen up` starts v1 again" in message, message
    assert site_get(system_nginx)[0] == 502, "what down said the site answers"
    human = project.cli("down")  # nothing left to stop: says so
    assert human.returncode == 0 and "nothing was running" in human.stdout + human.stderr
    assert project.cli_json("up")["version"] == "v1"
    assert site_get(system_nginx) == (200, "hello from v1\n")
