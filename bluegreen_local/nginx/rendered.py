"""A record of the nginx files bluegreen last wrote, so checks need not render them again.

`status`, every no-op deploy and every recovery ask one question: do the files on disk read as
the config and the live release call for? Rendering answers it but needs jinja2, which costs
tens of milliseconds to import and compile. After each confirmed switch we record a key of
everything rendering depends on (template sources and the values passed in) and a hash of each
file written. A later check computes the key again, which is cheap: if it matches, the hashes
answer; without a record, or with a different key, the caller renders and compares.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final

from bluegreen_local.nginx import templating
from bluegreen_local.store.files import atomic_write

RECORD: Final = "rendered.json"
VERSION: Final = 1


@dataclass(frozen=True, slots=True)
class Spec:
    """One file bluegreen owns: where it goes, its template and the values rendered into it."""

    path: Path
    template: str
    values: tuple[tuple[str, object], ...]


def key(specs: Sequence[Spec]) -> str:
    """Changes whenever a rendering of `specs` could: values (their reprs) or template text."""
    material = [[str(s.path), s.template, _source(s.template), repr(s.values)] for s in specs]
    return _digest(json.dumps(material))


def save(state_dir: Path, specs: Sequence[Spec], files: Mapping[Path, str]) -> None:
    """Record what was written. Not fsynced: a lost record only means rendering once more."""
    record = {"version": VERSION, "key": key(specs),
              "files": {str(path): _digest(text) for path, text in files.items()}}
    atomic_write(state_dir / RECORD, json.dumps(record, indent=1) + "\n", durable=False)


def matches(state_dir: Path, specs: Sequence[Spec]) -> bool | None:
    """True or False when the record answers whether the files on disk are as `specs` call
    for; None when it cannot (no record, another version, or other inputs)."""
    try:
        record = json.loads((state_dir / RECORD).read_text(encoding="utf-8"))
        recorded_key, hashes = record["key"], record["files"]
        if record["version"] != VERSION or recorded_key != key(specs):
            return None
        if not isinstance(hashes, dict) or set(hashes) != {str(s.path) for s in specs}:
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return all(_file_digest(Path(path)) == wanted for path, wanted in hashes.items())


def _file_digest(path: Path) -> str | None:
    try:
        return _digest(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return None


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@cache
def _source(template: str) -> str:
    return (templating.template_dir() / template).read_text(encoding="utf-8")
