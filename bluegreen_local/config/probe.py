"""Getters for the health probe's request and what its answer must be."""

from __future__ import annotations

from bluegreen_local.config.fields import (
    HOST_RE,
    STATUS_CLASS_RE,
    STATUS_RANGE_RE,
    URL_PATH_RE,
    short,
)
from bluegreen_local.config.paths import Paths
from bluegreen_local.config.reader import MISSING


class Probe(Paths):
    """What goes on the probe's request line and headers must not be able to add to them."""

    __slots__ = ()

    def url_path(self, name: str, default: str) -> str | None:
        value = self.string(name, default)
        if value is not None and not URL_PATH_RE.fullmatch(value):
            self.problem(name, "must start with / and contain no spaces or control characters, "
                         f"got {short(value)}")
            return None
        return value

    def host_header(self, name: str) -> str | None:
        value = self.string(name, "")
        if value and not HOST_RE.fullmatch(value):
            self.problem(name, f"must be a host name like \"example.com\", got {short(value)}")
            return None
        return value

    def statuses(self, name: str) -> frozenset[int] | None:
        value = self.value(name)
        if value is MISSING:
            return frozenset({200})
        items = value if isinstance(value, list) else [value]
        if not items:
            self.problem(name, "must list at least one status, like [200] or \"2xx\"")
            return None
        codes: set[int] = set()
        for item in items:
            found = _status_codes(item)
            if not found:
                self.problem(name, f"{short(item)} is not a status (100-599), a class like "
                             "\"2xx\" or a range like \"200-299\"")
                return None
            codes |= found
        return frozenset(codes)


def _status_codes(item: object) -> set[int]:
    if isinstance(item, int) and not isinstance(item, bool):
        return {item} if 100 <= item <= 599 else set()
    if not isinstance(item, str):
        return set()
    if match := STATUS_CLASS_RE.fullmatch(item):
        first = int(match.group(1)) * 100
        return set(range(first, first + 100))
    if match := STATUS_RANGE_RE.fullmatch(item):
        low, high = int(match.group(1)), int(match.group(2))
        return set(range(low, high + 1)) if low <= high <= 599 else set()
    return set()
