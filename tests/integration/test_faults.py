"""Injected faults (real ones: a full disk, a read-only state dir, a hanging app...).

Each fault must leave traffic on a healthy slot, say what happened and what to do, leave
nothing half-written, and the next deploy must work once the fault is gone.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from helpers import REQUIRE_ALL, poll
from loadgen import Load

from integration.support import Project, established, get

pytestmark = pytest.mark.nginx


@pytest.fixture
def small_disk(project: Project) -> Iterator[Path]:
    """The project's state dir on a 4 MiB tmpfs, so the disk can really fill up."""
    project.state_dir.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs",
                           str(project.state_dir)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        message = f"cannot mount a tmpfs (needs root): {done.stderr.strip()}"
        if REQUIRE_ALL:
            pytest.fail(message)
        pytest.skip(message)
    yield project.state_dir
    # Stop what runs from it first (down is the product's cleanup), then unmount.
    project.cli("down")
    subprocess.run(["umount", "-l", str(project.state_dir)], check=False)


def _snapshot(project: Project) -> tuple[bytes, bytes, set[int]]:
    return ((project.state_dir / "state.json").read_bytes(), project.upstream_file.read_bytes(),
            project.slot_pids())


def _fill(directory: Path) -> Path:
    filler = directory / "filler"
    with filler.open("wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass
    return filler


def test_disk_full_leaves_traffic_and_files_alone(project: Project, small_disk: Path) -> None:
    project.cli_json("deploy", "v1")
    before = _snapshot(project)
    filler = _fill(small_disk)
    with Load("127.0.0.1", project.listen_port, threads=2, max_seconds=60) as load:
        load.wait_for(20)
        done = project.cli("deploy", "v2")
        stats = load.stop()
    assert done.returncode == 10, done.stderr  # the environment, not a bug
    assert "No space left on device" in done.stderr and "Traceback" not in done.stderr
    assert stats.failed == 0 and set(stats.versions) == {"v1"}
    assert _snapshot(project) == before, "state, upstream and the live pid are untouched"
    assert not list(small_disk.glob(".*.tmp")), "no temp files left behind"
    filler.unlink()
    project.cli_json("deploy", "v2")
    assert project.serve() == (200, "hello from v2\n")


def test_state_dir_not_writable(project: Project) -> None:
    """Root ignores permission bits: the state dir becomes a read-only bind mount of itself
    (nginx keeps its log files open on the writable mount underneath)."""
    project.cli_json("deploy", "v1")
    before = _snapshot(project)
    state = str(project.state_dir)
    _mount(["--bind", state, state])
    try:
        _mount(["-o", "remount,bind,ro", state])
        done = project.cli("deploy", "v2")
        assert done.returncode == 10, done.stderr
        assert "Read-only file system" in done.stderr and "Traceback" not in done.stderr
        assert project.serve() == (200, "hello from v1\n")
        assert _snapshot(project) == before
    finally:
        subprocess.run(["umount", state], check=True)
    project.cli_json("deploy", "v2")
    assert project.serve() == (200, "hello from v2\n")


def _mount(args: list[str]) -> None:
    done = subprocess.run(["mount", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        message = f"mount {' '.join(args)} failed (needs root): {done.stderr.strip()}"
        if REQUIRE_ALL:
            pytest.fail(message)
        pytest.skip(message)


@pytest.mark.parametrize("content,expected", [
    ('{"schema": 1, "generation": 3, "tok', "Move it aside"),
    ('{"schema": 99}', "newer than this bluegreen understands"),
])
def test_unreadable_state_stops_before_anything(project: Project, content: str,
                                                expected: str) -> None:
    project.cli_json("deploy", "v1")
    pids = project.slot_pids()
    upstream = project.upstream_file.read_bytes()
    (project.state_dir / "state.json").write_text(content)
    done = project.cli("deploy", "v2")
    assert done.returncode == 10 and expected in done.stderr, done.stderr
    assert (project.state_dir / "state.json").read_text() == content
    assert project.upstream_file.read_bytes() == upstream
    assert project.serve() == (200, "hello from v1\n")
    assert all(psutil.pid_exists(p) for p in pids)


def test_nginx_binary_missing(project: Project) -> None:
    project.cli_json("deploy", "v1")
    upstream = project.upstream_file.read_bytes()
    project.nginx_bin = "/nonexistent/nginx"
    project.write_config()
    done = project.cli("deploy", "v2")
    assert done.returncode == 5, done.stderr
    # Said before anything starts, naming the key that fixes it.
    assert "nginx.binary: program '/nonexistent/nginx' cannot be run" in done.stderr
    assert "Nothing was changed." in done.stderr
    assert project.upstream_file.read_bytes() == upstream
    assert project.serve() == (200, "hello from v1\n")


def test_nginx_stopped_is_started_again_by_the_next_deploy(project: Project) -> None:
    project.cli_json("deploy", "v1")
    master = project.nginx_pid()
    assert master is not None
    psutil.Process(master).terminate()
    poll(lambda: project.serve()[0] == 0, what="nginx to stop")
    project.cli_json("deploy", "v2")
    assert project.serve() == (200, "hello from v2\n")


def test_hanging_health_check_times_out_per_probe(project: Project) -> None:
    project.cli_json("deploy", "v1")
    project.write_config(app_args="--health-delay 30", deadline="3s")
    done = project.cli("deploy", "v2", timeout=60)
    assert done.returncode == 4, done.stderr
    assert "no answer within 2s" in done.stderr
    assert project.serve() == (200, "hello from v1\n")


def test_app_slower_than_the_deadline(project: Project) -> None:
    project.cli_json("deploy", "v1")
    project.write_config(app_args="--startup-delay 5", deadline="1s")
    done = project.cli("deploy", "v2")
    assert done.returncode == 4 and "not healthy within 1s" in done.stderr, done.stderr
    assert get(project.ports[1])[0] == 0, "the slow version was stopped"
    project.write_config()
    project.cli_json("deploy", "v2")


def test_long_request_at_drain_timeout_still_completes(project: Project) -> None:
    """Past the drain timeout the old slot gets SIGTERM; an app that finishes in-flight
    requests on SIGTERM (as the example does) completes them within stop_timeout."""
    project.write_config(drain='timeout = "1s"', stop_timeout="10s")
    project.cli_json("deploy", "v1")
    slow: list[tuple[int, str]] = []
    request = threading.Thread(target=lambda: slow.append(get(project.listen_port, "/slow?s=3")))
    request.start()
    poll(lambda: (project.state_dir / "logs/blue.log").exists(), what="v1's log")
    poll(lambda: established(project.ports[0]) > 0, what="the slow request to reach v1")
    result = project.cli_json("deploy", "v2")
    request.join(timeout=30)
    assert result["drain_timed_out"] is True
    assert slow == [(200, "slow 3s from v1\n")]
    history = json.loads(project.cli("history", "--json", "-n", "1").stdout)
    assert history["events"][0]["outcome"] == "ok"


@pytest.mark.slow
def test_256_concurrent_clients_during_20_deploys(project: Project) -> None:
    project.cli_json("deploy", "v0")
    with Load("127.0.0.1", project.listen_port, threads=256, max_seconds=300) as load:
        load.wait_for(500)
        for i in range(1, 21):
            project.cli_json("deploy", f"v{i}")
        stats = load.stop()
    assert stats.failed == 0, dict(stats.failures)
    assert stats.sent > 1000
