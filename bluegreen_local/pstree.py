"""Process-tree helpers on psutil: list a tree, signal it, wait until it is really gone."""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Sequence

import psutil


def tree(root: psutil.Process) -> list[psutil.Process]:
    """The process and all its descendants (as far as they can be seen)."""
    try:
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return [root]


def running(target: psutil.Process) -> bool:
    """True unless the process exited; a zombie counts as exited."""
    try:
        return target.is_running() and target.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def send(target: psutil.Process, sig: signal.Signals) -> None:
    with contextlib.suppress(psutil.Error):
        target.send_signal(sig)


def wait_gone(procs: Sequence[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Wait until every process exited; return those still running at the timeout.

    psutil.wait_procs treats an unreaped zombie as alive, and a slot process outlives the CLI
    that started it, so its reaper is whatever init runs, on its own schedule.
    """
    deadline = time.monotonic() + timeout
    delay = 0.002
    alive = [p for p in procs if running(p)]
    while alive and time.monotonic() < deadline:
        time.sleep(delay)
        delay = min(0.01, delay * 1.5)
        alive = [p for p in alive if running(p)]
    return alive
