"""The start settings behind each release digest, one small file each (`releases/<digest>.json`),
so an older release can be started again exactly as it ran. Written before the release starts,
so every digest recorded in state or history has its file."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Final

from bluegreen_local.config.identity import StartSettings
from bluegreen_local.store.files import atomic_write, ensure_dir

_DIGEST: Final = re.compile(r"[0-9a-f]{12}")


def _path(state_dir: Path, digest: str) -> Path:
    if not _DIGEST.fullmatch(digest):  # it names a file: never a path from elsewhere
        raise ValueError(f"not a release digest: {digest!r}")
    return state_dir / "releases" / f"{digest}.json"


def remember(state_dir: Path, settings: StartSettings) -> str:
    """Keep the settings (mode 0600: env values may be secrets, as in the config) once."""
    path = _path(state_dir, settings.digest)
    if not path.exists():
        ensure_dir(path.parent)
        atomic_write(path, json.dumps(settings.to_json(), indent=2) + "\n")
    return settings.digest


def recall(state_dir: Path, digest: str) -> StartSettings | None:
    """The kept settings, or None when they are missing or unreadable or do not match."""
    try:
        settings = StartSettings.from_json(json.loads(_path(state_dir, digest).read_text()))
    except (OSError, ValueError, TypeError, KeyError):
        return None
    return settings if settings.digest == digest else None
