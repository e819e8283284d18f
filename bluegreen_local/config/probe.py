"""Getters for the health probe's request and what its answer must be."""

from __future__ import annotations

from pathlib import Path

from bluegreen_local.config.fields import (
    HEADER_MAX,
    HEADER_NAME_RE,
    HEADER_VALUE_RE,
    HOST_RE,
    PROBE_OWN_HEADERS,
    STATUS_CLASS_RE,
    STATUS_RANGE_RE,
    URL_PATH_RE,
    key_text,
    short,
    shown,
)
from bluegreen_local.config.paths import Paths, exists, is_file
from bluegreen_local.config.reader import MISSING


class Probe(Paths):
    """What goes on the probe's request line and headers must not be able to add to them."""

    __slots__ = ()

    def url_path(self, name: str, default: str, *, doc: str) -> str | None:
        value = self.string(name, default, doc=doc)
        if value is not None and not URL_PATH_RE.fullmatch(value):
            self.problem(name, "must start with / and contain no spaces or control characters, "
                         f"got {short(value)}")
            return None
        return value

    def host_header(self, name: str, *, doc: str) -> str | None:
        value = self.string(name, "", doc=doc)
        if value and not HOST_RE.fullmatch(value):
            self.problem(name, f"must be a host name like \"example.com\", got {short(value)}")
            return None
        return value

    def statuses(self, name: str, *, doc: str) -> frozenset[int] | None:
        self.document(name, doc, [200])
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

    def tls_verify(self, name: str, *, doc: str) -> bool | Path | None:
        """true, false, or the CA bundle to check the app's certificate against."""
        self.document(name, doc, True)
        value = self.value(name)
        if value is MISSING:
            return True
        if isinstance(value, bool):
            return value
        if not isinstance(value, str) or not value or "\x00" in value:
            self.problem(name, f"must be true, false or the path of a CA file, got {short(value)}")
            return None
        path = self.resolve(name, value)
        if path is None:
            return None
        if not is_file(path):
            why = "is not a file" if exists(path) else "does not exist"
            self.problem(name, f"{shown(path)} {why}; it must name the CA file that signs the "
                         "app's certificate (or set true or false)")
            return None
        return path

    def headers(self, name: str, *, doc: str) -> tuple[tuple[str, str], ...]:
        """Extra request headers, in the order written."""
        self.document(name, doc, {})
        value = self.value(name)
        if value is MISSING:
            return ()
        if not isinstance(value, dict):
            self.problem(name, "must be a table of strings, like { X-Probe = \"bluegreen\" }")
            return ()
        pairs: list[tuple[str, str]] = []
        seen: dict[str, str] = {}
        for header, item in value.items():
            key = f"{name}.{key_text(header)}"
            why = _header_problem(header, item) or _repeated(header, seen)
            if why:
                self.problem(key, why)
            elif isinstance(item, str):
                pairs.append((header, item))
        return tuple(pairs)


def _header_problem(name: str, value: object) -> str | None:
    if not HEADER_NAME_RE.fullmatch(name) or len(name) > HEADER_MAX:
        return "not a valid header name: use letters, digits and ! # $ % & ' * + . ^ _ ` | ~ -"
    if name.lower() == "host":
        return "set the Host header with health.host_header"
    if name.lower() in PROBE_OWN_HEADERS:
        return "not allowed: the probe sets how its request is framed"
    if not isinstance(value, str):
        return f"must be a string, got {type(value).__name__}"
    if not HEADER_VALUE_RE.fullmatch(value):
        return f"must be printable ASCII without line breaks or NUL bytes, got {short(value)}"
    if len(value) > HEADER_MAX:
        return f"must be at most {HEADER_MAX} bytes, got {len(value)}"
    return None


def _repeated(name: str, seen: dict[str, str]) -> str | None:
    """Header names ignore case: "X-A" and "x-a" are one header, set twice."""
    first = seen.setdefault(name.lower(), name)
    return None if first == name else f"the same header as {first} (names ignore case)"


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
