"""Phase timings and the sentences a deploy reports about traffic and recovery."""

from __future__ import annotations

import time
from dataclasses import dataclass

from bluegreen_local.engine.reconcile import Recovery
from bluegreen_local.model.results import Timings
from bluegreen_local.model.types import Instance


@dataclass(slots=True)
class Clock:
    """Phase timings for one deploy."""

    started: float
    marks: dict[str, float]

    def lap(self, name: str, since: float) -> float:
        self.marks[name] = time.monotonic() - since
        return self.marks[name]

    def timings(self) -> Timings:
        return Timings(**self.marks, total=time.monotonic() - self.started)


def serving_text(live: Instance | None) -> str:
    if live is None:
        return "nothing was serving before and nothing serves now"
    return f"traffic stays on {live.slot} ({live.version}, port {live.port})"


def recovery_text(recovery: Recovery) -> str:
    killed = recovery.interrupted
    head = [f"a {killed.action} of {killed.version} was interrupted in phase {killed.phase}"] \
        if killed else []
    return "; ".join([*head, *recovery.actions]) or "nothing left behind"
