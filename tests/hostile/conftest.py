"""Hostile-input fixtures: the integration fixtures, and one app deployed for every case."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import require_tool
from integration.conftest import _kill_leftovers, nginx_bin, project  # noqa: F401
from integration.support import Project, free_ports

from hostile.support import Live, snapshot


@pytest.fixture(scope="session")
def live() -> Iterator[Live]:
    """One live app for every hostile case (each case checks that it is untouched)."""
    # A short path keeps the admin unix socket under the 107-byte limit.
    root = Path(tempfile.mkdtemp(prefix="bgh-"))
    blue, green, listen = free_ports(3)
    proj = Project(root, require_tool("nginx"), (blue, green), listen)
    proj.write_config()
    started: set[int] = set()
    try:
        result = proj.cli_json("deploy", "v1")
        assert result["changed"] is True
        started |= proj.slot_pids()
        if (master := proj.nginx_pid()) is not None:
            started.add(master)
        state = Live(proj, proj.config.read_text(encoding="utf-8"), snapshot(proj))
        state.assert_untouched()
        yield state
    finally:
        with contextlib.suppress(OSError, ValueError, AssertionError):
            started |= proj.slot_pids()
        if (master := proj.nginx_pid()) is not None:
            started.add(master)
        proj.write_config()
        proj.cli("down")
        _kill_leftovers(started)
        shutil.rmtree(root, ignore_errors=True)
