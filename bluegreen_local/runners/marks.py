"""Whose slot process holds a port: the marker a slot process (or its parent) carries in its
environment names the app's state dir, so another app of ours is told apart from a stranger."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import psutil

from bluegreen_local.runners.launch import APP_MARKER, MARKER
from bluegreen_local.util import net


@dataclass(frozen=True, slots=True)
class Mark:
    """A slot process of some bluegreen app, as its environment describes it."""

    pid: int
    state_dir: str
    app: str
    slot: str
    version: str

    def describe(self) -> str:
        what = ", ".join(p for p in (f"{self.slot} slot" if self.slot else "", self.version) if p)
        return (f"our app {self.app} ({what + ', ' if what else ''}state dir {self.state_dir}, "
                f"pid {self.pid})")


def mark_of(pid: int, chain: Iterable[Mapping[str, str]]) -> Mark | None:
    """The first marked environment in `chain` (a process's, then its ancestors'), if any.

    A gunicorn-style worker inherits the marker; a program the app started with a cleaned
    environment does not, and its ancestors still tell.
    """
    for env in chain:
        state_dir = env.get(MARKER)
        if state_dir:
            # Apps started before the name was marked: the default state dir ends in it.
            app = env.get(APP_MARKER) or Path(state_dir).name
            return Mark(pid, state_dir, app, env.get("BLUEGREEN_SLOT", ""),
                        env.get("BLUEGREEN_VERSION", ""))
    return None


def port_marks(port: int) -> list[Mark]:
    """The marked listeners on `port` (those whose environment we may read)."""
    found = []
    for pid in sorted(net.listener_pids(port)):
        mark = mark_of(pid, _environs(pid))
        if mark is not None:
            found.append(mark)
    return found


def _environs(pid: int) -> Iterable[Mapping[str, str]]:
    """The environments of `pid` and its ancestors, nearest first; unreadable ones skipped."""
    with contextlib.suppress(psutil.Error):
        process: psutil.Process | None = psutil.Process(pid)
        while process is not None and process.pid > 1:
            with contextlib.suppress(psutil.Error):
                yield process.environ()
            process = process.parent()
