"""How a slot runs: one small interface, one implementation per runner kind."""

from __future__ import annotations

from typing import Protocol

from bluegreen_local.model.types import Slot, SlotProcess


class Runner(Protocol):
    """Start, stop, watch and read the logs of the process serving one slot."""

    def start(self, slot: Slot, port: int, version: str) -> SlotProcess:
        """Start `version` on `port`, detached from the CLI; return how to find it again."""
        ...

    def alive(self, proc: SlotProcess) -> bool:
        """True while the exact process we started (pid + create time) still runs."""
        ...

    def stop(self, proc: SlotProcess, grace: float) -> None:
        """Stop the slot's whole process tree: TERM, then KILL after `grace` seconds."""
        ...

    def owns_pid(self, proc: SlotProcess, pid: int) -> bool:
        """True if `pid` is the slot process or one of its descendants."""
        ...

    def log_tail(self, slot: Slot, lines: int = 20) -> str:
        """The last lines the slot's current run wrote to its log."""
        ...

    def strays(self, known: set[int]) -> list[SlotProcess]:
        """This app's slot processes that are running but not in `known` (pids)."""
        ...

    def memory(self, proc: SlotProcess) -> int | None:
        """Resident memory of the whole tree in bytes, None if it is gone."""
        ...
