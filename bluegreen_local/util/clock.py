"""Wall-clock time as written into history, lock holders and logs."""

from __future__ import annotations

import time


def now_iso() -> str:
    """The current local time as ISO 8601 with offset (lock holders, history events)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
