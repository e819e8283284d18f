"""Wall-clock time as written into history, lock holders and logs."""

from __future__ import annotations

import time
from typing import Final

# 2: `live` is a release (slot, port, version); 1 stored only the slot name.
SCHEMA: Final = 2



def now_iso() -> str:
    """The current local time as ISO 8601 with offset (lock holders, history events)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
