"""How a slot runs: one interface of handles, one implementation per runner kind.

An instance is identified by its runner's handle (pid + create time for a process, later a
container id); the engine never looks inside one. Questions that depend on how an instance runs
(is this listener ours, where are its logs, which of ours survived a crash) are asked here.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from bluegreen_local.model.types import Instance, RunnerKind, Slot


class Runner(Protocol):
    """Start, stop, watch and read the logs of the instance serving one slot."""

    kind: RunnerKind

    def start(self, slot: Slot, port: int, version: str) -> Instance:
        """Start `version` on `port`, detached from the CLI; the instance has no role yet."""
        ...

    def alive(self, inst: Instance) -> bool:
        """True while the exact instance we started still runs."""
        ...

    def stop(self, inst: Instance, grace: float) -> None:
        """Stop the instance: TERM, then KILL after `grace` seconds."""
        ...

    def port_holder(self, port: int, instances: Iterable[Instance]) -> Instance | None:
        """Which of `instances` listens on `port`; None if nobody does or a stranger does."""
        ...

    def log_path(self, slot: Slot) -> Path:
        """Where the slot's output goes."""
        ...

    def log_tail(self, slot: Slot, lines: int = 20) -> str:
        """The last lines the slot's current run wrote to its log."""
        ...

    def strays(self, known: Iterable[Instance]) -> list[Instance]:
        """This app's instances that are running but not in `known` (their starter was
        killed before it recorded them)."""
        ...

    def memory(self, inst: Instance) -> int | None:
        """Resident memory of the whole instance in bytes, None if it is gone."""
        ...
