"""The base of a section reader: one TOML table, the keys read from it, the problems found.

A key is declared by reading it, so the list of allowed keys cannot drift from the code that
reads them: whatever was not read when the section closes is reported as unknown. So every
getter runs whatever the other values are (no getter behind an `if`): a key read only
sometimes would be refused as unknown the other times. Each getter also takes the key's
one-line `doc` and records it with its default: reading an empty document gives the
reference table of every key (config/reference.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Final, Self

from bluegreen_local.config.fields import key_text

MISSING: Final = object()
REQUIRED: Final = object()  # a default that says the key must be given


@dataclass(frozen=True, slots=True)
class Shown:
    """A default computed from other values, documented in words."""

    text: str


@dataclass(frozen=True, slots=True)
class KeyDoc:
    """One key as the reference shows it: the full key, its default, one line about it."""

    key: str
    default: object  # a TOML value, REQUIRED, Shown, or None for "not set"
    doc: str
    table: bool = False


class Reader:
    """One table of the document; typed getters in the subclasses read its keys by name."""

    __slots__ = ("_raw", "_read", "_start", "base", "docs", "name", "problems")

    def __init__(self, problems: list[str], base: Path, raw: dict[str, object],
                 name: str = "", docs: dict[str, KeyDoc] | None = None) -> None:
        self.problems = problems
        self.docs = {} if docs is None else docs  # shared by the whole document
        self.base = base  # relative paths are resolved against the config file's folder
        self.name = name
        self._raw = raw
        self._read: set[str] = set()
        # Unknown keys are reported where the section starts, ahead of its other problems.
        self._start = len(problems)

    def key(self, name: str) -> str:
        """The full key, as messages show it: "health.interval"."""
        return f"{self.name}.{name}" if self.name else name

    def value(self, name: str) -> object:
        """The raw value of `name` (MISSING if absent); reading a key declares it."""
        self._read.add(name)
        return self._raw.get(name, MISSING)

    def document(self, name: str, doc: str, default: object, *, table: bool = False) -> None:
        """Record `name`'s doc and default; the first getter to do so wins (one getter
        built on another passes its own caller's doc down)."""
        key = self.key(name)
        self.docs.setdefault(key, KeyDoc(key, default, doc, table))

    def given(self, name: str) -> bool:
        """Whether the file sets `name` (which must also be read to be allowed)."""
        return name in self._raw

    def report(self, text: str) -> None:
        self.problems.append(text)

    def problem(self, name: str, text: str) -> None:
        """A problem with key `name`, prefixed with its full key."""
        self.report(f"{self.key(name)}: {text}")

    def table(self, name: str, *, required: bool = False, doc: str) -> Self:
        """The sub-table `name` as a section of its own (empty if absent or not a table)."""
        self.document(name, doc, REQUIRED if required else None, table=True)
        value = self.value(name)
        raw: dict[str, object] = {}
        if isinstance(value, dict):
            raw = value
        elif value is MISSING:
            if required:
                self.report(f"[{self.key(name)}]: missing table")
        else:
            self.problem(name, f"must be a table like [{self.key(name)}]")
        return type(self)(self.problems, self.base, raw, self.key(name), self.docs)

    def done(self) -> None:
        """Report every key of the table that no getter read."""
        allowed = ", ".join(sorted(self._read))
        unknown = [f"{self.key(key_text(key))}: unknown key (allowed: {allowed})"
                   for key in sorted(set(self._raw) - self._read)]
        self.problems[self._start:self._start] = unknown

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.done()
