"""Integration fixtures: a real nginx, real app processes, the real CLI in a subprocess."""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
from helpers import poll, require_tool

from integration.support import Project, free_ports, get, our_processes


@pytest.fixture
def nginx_bin() -> str:
    return require_tool("nginx")


@pytest.fixture
def project(nginx_bin: str) -> Iterator[Project]:
    """A fresh app config with free ports; everything it started is stopped afterwards."""
    # A short path keeps the admin unix socket under the 107-byte limit.
    root = Path(tempfile.mkdtemp(prefix="bg-"))
    blue, green, listen = free_ports(3)
    proj = Project(root, nginx_bin, (blue, green), listen)
    proj.write_config()
    try:
        yield proj
    finally:
        # `down` is the product's own cleanup. A test may have broken the state on purpose,
        # so whatever is left is found from the world: slot processes carry the state dir in
        # their environment, the nginx master names it on its command line.
        proj.cli("down")
        leftovers = our_processes(proj.state_dir)
        if (master := proj.nginx_pid()) is not None and _names(master, proj.state_dir):
            leftovers.add(master)
        _kill_leftovers(leftovers)
        shutil.rmtree(root, ignore_errors=True)


def _names(pid: int, state_dir: Path) -> bool:
    with contextlib.suppress(psutil.Error):
        return str(state_dir) in " ".join(psutil.Process(pid).cmdline())
    return False


def _kill_leftovers(pids: set[int]) -> None:
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            proc = psutil.Process(pid)
            for member in [proc, *proc.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    member.send_signal(signal.SIGKILL)


@pytest.fixture
def foreign_listener() -> Iterator[Callable[[int], subprocess.Popen[bytes]]]:
    """Start a process that is not ours listening on a port; stopped by pid afterwards."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(port: int) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen([sys.executable, "-m", "http.server", str(port),
                                 "--bind", "127.0.0.1"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        procs.append(proc)
        poll(lambda: get(port)[0] != 0, what=f"http.server on {port}")
        return proc

    yield start
    for proc in procs:
        proc.kill()
        proc.wait()
