"""Memory sizes: "512M" -> bytes for the config, bytes -> "1.4 GiB" for messages."""

from __future__ import annotations

import re
from typing import Final

SIZE_RE: Final = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*([KMGT]?)(i?B?)", re.IGNORECASE)
_POWERS: Final = {"": 0, "K": 1, "M": 2, "G": 3, "T": 4}


def parse_size(text: str) -> int | None:
    """'512M', '1.5G', '2GiB', '65536' (bytes) -> bytes, binary units; None if malformed."""
    match = SIZE_RE.fullmatch(text.strip())
    if match is None:
        return None
    number, unit, suffix = match.groups()
    if suffix.lower() == "i":  # "Mi" without the B is still clear enough; a bare "i" is not
        return None
    return int(float(number) * 1024 ** _POWERS[unit.upper()])


def show_size(size: int) -> str:
    """Bytes in the largest binary unit that keeps the number at 1 or more: '1.4 GiB'."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"
