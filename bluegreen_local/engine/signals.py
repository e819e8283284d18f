"""Signal handling: raise before the switch, defer while the switch must finish."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import FrameType

# SIGHUP arrives when the SSH session that runs the deploy drops.
_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@dataclass(slots=True)
class Pending:
    """Signals that arrived while deferred."""

    received: list[int] = field(default_factory=list)


def _raise(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """SIGTERM and SIGHUP behave like Ctrl-C, so one cleanup path serves all three."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {sig: signal.signal(sig, _raise) for sig in _SIGNALS}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def deferred() -> Iterator[Pending]:
    """Record SIGINT/SIGTERM/SIGHUP instead of acting on them; check `received` after."""
    pending = Pending()
    if threading.current_thread() is not threading.main_thread():
        yield pending
        return

    def record(signum: int, frame: FrameType | None) -> None:
        pending.received.append(signum)

    old = {sig: signal.signal(sig, record) for sig in _SIGNALS}
    try:
        yield pending
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
