"""Helpers every test folder shares: paths, finding tools (fail, not skip, in CI), free ports,
polling, a listener to start as a process, and a clock that moves only when slept on."""

from __future__ import annotations

import os
import shutil
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest

REQUIRE_ALL = os.environ.get("BLUEGREEN_REQUIRE_ALL") == "1"
REPO = Path(__file__).resolve().parent.parent


def require_tool(name: str) -> str:
    """The tool's path; skip when it is missing, or fail under BLUEGREEN_REQUIRE_ALL=1."""
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    found = shutil.which(name, path=search)
    if found:
        return found
    message = f"{name} is not installed (apt-get install {name})"
    if REQUIRE_ALL:
        pytest.fail(f"BLUEGREEN_REQUIRE_ALL=1 and {message}", pytrace=False)
    pytest.skip(message)


def executable(path: Path, body: str = "exit 0") -> Path:
    """A shell script at `path` (folders created), mode 0755."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


# A process that listens on the port given as its argument, says so, and waits.
LISTENER = """\
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen()
print("listening", flush=True)
time.sleep(120)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def poll(condition: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    """Wait until condition() is true; fail the test with `what` after timeout."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.01)


class FakeClock:
    """Monotonic time that moves only when something sleeps on it; callable as a clock, or
    standing in for the `time` module (monotonic, sleep)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
