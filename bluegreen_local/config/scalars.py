"""Getters for plain values: strings, names, whole numbers, durations and fixed choices."""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from bluegreen_local.config.fields import APP_NAME_RE, parse_duration, short
from bluegreen_local.config.reader import MISSING, REQUIRED, Reader

E = TypeVar("E", bound=StrEnum)


class Scalars(Reader):
    """Reads single values; each getter reports its own problem and returns None (or a
    harmless stand-in where the caller needs a value to go on checking)."""

    __slots__ = ()

    def string(self, name: str, default: str | None = None,
               *, required: bool = False, doc: str) -> str | None:
        self.document(name, doc, REQUIRED if required else default)
        value = self.value(name)
        if value is MISSING:
            if required:
                self.problem(name, "required")
            return default
        if not isinstance(value, str):
            self.problem(name, f"must be a string, got {type(value).__name__}")
            return None
        if "\x00" in value:
            self.problem(name, "must not contain NUL bytes")
            return None
        return value

    def app_name(self, name: str, *, doc: str) -> str | None:
        value = self.string(name, required=True, doc=doc)
        if value is not None and not APP_NAME_RE.fullmatch(value):
            self.problem(name, f"{short(value)} is not a valid name: use 1-63 characters "
                         "from a-z 0-9 _ -, starting with a letter or digit")
            return None
        return value

    def integer(self, name: str, default: int, *, low: int, high: int, doc: str) -> int:
        self.document(name, doc, default)
        value = self.value(name)
        if value is MISSING:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(name, f"must be a whole number, got {short(value)}")
            return default
        if not low <= value <= high:
            self.problem(name, f"must be between {low} and {high}, got {value}")
            return default
        return value

    def duration(self, name: str, default: str, *, minimum: float = 0.0, doc: str) -> float:
        self.document(name, doc, default)
        value = self.value(name)
        seconds = parse_duration(default if value is MISSING else value)
        if seconds is None:
            self.problem(name, "must be a duration like \"500ms\", \"30s\", \"5m\" "
                         f"or a number of seconds, got {short(value)}")
            return 1.0
        if seconds < minimum or seconds > 86400:
            self.problem(name, f"must be between {minimum:g}s and 24h, got {short(value)}")
            return 1.0
        return seconds

    def one_of(self, name: str, allowed: tuple[str, ...], default: str,
               *, doc: str) -> str | None:
        value = self.string(name, default, doc=doc)
        if value is None or value in allowed:
            return value
        listed = ", ".join(f'"{item}"' for item in allowed)
        self.problem(name, f"must be one of {listed}, got {short(value)}")
        return None

    def choice(self, name: str, enum: type[E], default: E, *, doc: str) -> E | None:
        value = self.one_of(name, tuple(member.value for member in enum), default.value,
                            doc=doc)
        return None if value is None else enum(value)
