"""Process-tree helpers on psutil: list a tree, signal it, wait until it is really gone."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Sequence
from pathlib import Path

import psutil

from bluegreen_local.util.poll import wait_all_gone


def tree(root: psutil.Process) -> list[psutil.Process]:
    """The process and all its descendants (as far as they can be seen)."""
    found, queue = [root], [root.pid]
    while queue:
        for pid in child_pids(queue.pop()):
            with contextlib.suppress(psutil.Error):
                found.append(psutil.Process(pid))
                queue.append(pid)
    return found


def child_pids(pid: int) -> list[int]:
    """The direct children of a process, [] if it is gone.

    Read from /proc/PID/task/*/children: a few small files, where psutil reads the status of
    every process on the host (milliseconds on a busy one, inside the switch).
    """
    tasks = Path(f"/proc/{pid}/task")
    if not (tasks / str(pid) / "children").exists():
        # Gone, or a kernel built without CONFIG_PROC_CHILDREN: let psutil scan.
        return _scanned_children(pid)
    found: list[int] = []
    with contextlib.suppress(OSError):  # gone meanwhile
        for task in tasks.iterdir():
            with contextlib.suppress(OSError):  # a thread that ended meanwhile left no children
                found += [int(c) for c in (task / "children").read_text("ascii").split()]
    return found


def _scanned_children(pid: int) -> list[int]:
    try:
        return [child.pid for child in psutil.Process(pid).children()]
    except psutil.Error:
        return []


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
    return wait_all_gone(procs, running, timeout=timeout, interval=0.002, backoff=1.5,
                         max_interval=0.01, what="processes to exit")
