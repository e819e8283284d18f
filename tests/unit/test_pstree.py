"""Process trees read from /proc/PID/task/*/children agree with psutil's full scan."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from bluegreen_local.util import pstree

# A parent with two children, one of which has a child of its own; all sleep until killed.
TREE = """
import subprocess, sys, time
sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
nested = [sys.executable, "-c", "import subprocess, sys, time; "
          "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); time.sleep(60)"]
kids = [subprocess.Popen(sleeper), subprocess.Popen(nested)]
print("ready", flush=True)
time.sleep(60)
"""


@pytest.fixture
def family() -> Iterator[psutil.Process]:
    parent = subprocess.Popen([sys.executable, "-c", TREE], stdout=subprocess.PIPE, text=True)
    root = psutil.Process(parent.pid)
    try:
        assert parent.stdout is not None and parent.stdout.readline() == "ready\n"
        # The nested child starts its own child a moment later: wait until all four exist.
        deadline = time.monotonic() + 10
        while len(root.children(recursive=True)) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        yield root
    finally:
        members = [root, *root.children(recursive=True)]
        for member in members:
            member.kill()
        psutil.wait_procs(members, timeout=5)
        parent.wait(timeout=5)


def test_children_match_psutil(family: psutil.Process) -> None:
    assert Path(f"/proc/{family.pid}/task/{family.pid}/children").exists()
    expected = sorted(c.pid for c in family.children())
    assert len(expected) == 2
    assert sorted(pstree.child_pids(family.pid)) == expected


def test_tree_has_every_descendant(family: psutil.Process) -> None:
    expected = {family.pid, *(c.pid for c in family.children(recursive=True))}
    assert len(expected) == 4
    assert {p.pid for p in pstree.tree(family)} == expected


def test_a_gone_process_has_no_children() -> None:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    assert pstree.child_pids(int(done.stdout)) == []


def test_without_the_children_file_psutil_scans(
    family: psutil.Process, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Path, "exists", lambda self: False)  # as on such a kernel
    assert sorted(pstree.child_pids(family.pid)) == sorted(c.pid for c in family.children())
