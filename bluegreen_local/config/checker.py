"""Reads a raw TOML document into typed values, collecting one problem per bad key."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from bluegreen_local.config.fields import (
    _MISSING,
    APP_NAME_RE,
    ENV_KEY_RE,
    HOST_RE,
    PORT_TEXT_RE,
    SAFE_PATH_RE,
    SOCKET_PATH_MAX,
    UNIX_PATH_MAX,
    URL_PATH_RE,
    E,
    _exists,
    _is_dir,
    _is_listen_host,
    _key_text,
    _short,
    _status_codes,
    parse_duration,
    placeholder_problem,
)


class Checker:
    """Collects problems while reading a raw TOML document into typed values."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.problems: list[str] = []

    def problem(self, text: str) -> None:
        self.problems.append(text)

    def table(self, raw: dict[str, object], key: str,
              *, required: bool = False) -> dict[str, object]:
        value = raw.get(key, _MISSING)
        if value is _MISSING:
            if required:
                self.problem(f"[{key}]: missing table")
            return {}
        if not isinstance(value, dict):
            self.problem(f"{key}: must be a table like [{key}]")
            return {}
        return value

    def known_keys(self, section: str, raw: dict[str, object], allowed: set[str]) -> None:
        for key in sorted(set(raw) - allowed):
            full = f"{section}.{_key_text(key)}" if section else _key_text(key)
            self.problem(f"{full}: unknown key (allowed: {', '.join(sorted(allowed))})")

    def _get(self, raw: dict[str, object], key: str) -> object:
        return raw.get(key.rsplit(".", 1)[-1], _MISSING)

    def string(self, raw: dict[str, object], key: str, default: str | None = None,
               *, required: bool = False) -> str | None:
        value = self._get(raw, key)
        if value is _MISSING:
            if required:
                self.problem(f"{key}: required")
            return default
        if not isinstance(value, str):
            self.problem(f"{key}: must be a string, got {type(value).__name__}")
            return None
        if "\x00" in value:
            self.problem(f"{key}: must not contain NUL bytes")
            return None
        return value

    def app_name(self, raw: dict[str, object], key: str) -> str | None:
        value = self.string(raw, key, required=True)
        if value is not None and not APP_NAME_RE.fullmatch(value):
            self.problem(f"{key}: {_short(value)} is not a valid name: use 1-63 characters "
                         "from a-z 0-9 _ -, starting with a letter or digit")
            return None
        return value

    def template_str(self, raw: dict[str, object], key: str) -> str | None:
        value = self.string(raw, key)
        if value is None:
            return None
        why = placeholder_problem(value)
        if why:
            self.problem(f"{key}: {why}")
            return None
        return value

    def command_template(self, raw: dict[str, object], key: str,
                         *, required: bool = False) -> tuple[str, ...] | None:
        value = self.string(raw, key, required=required)
        if value is None:
            return None
        why = placeholder_problem(value)
        if why:
            self.problem(f"{key}: {why}")
            return None
        return self._split(key, value)

    def command(self, raw: dict[str, object], key: str, default: str) -> tuple[str, ...] | None:
        value = self.string(raw, key, default)
        return None if value is None else self._split(key, value)

    def optional_command(self, raw: dict[str, object], key: str) -> tuple[str, ...] | None:
        """A command that may be left out (None); one that is given must be valid."""
        value = self.string(raw, key)
        return None if value is None else self._split(key, value)

    def _split(self, key: str, value: str) -> tuple[str, ...] | None:
        try:
            argv = tuple(shlex.split(value))
        except ValueError as exc:
            self.problem(f"{key}: cannot be split into arguments ({exc})")
            return None
        if not argv:
            self.problem(f"{key}: must name a program to run")
            return None
        return argv

    def env_table(self, raw: dict[str, object], key: str) -> tuple[tuple[str, str], ...]:
        value = self._get(raw, key)
        if value is _MISSING:
            return ()
        if not isinstance(value, dict):
            self.problem(f"{key}: must be a table of strings, like {{ APP_ENV = \"prod\" }}")
            return ()
        pairs: list[tuple[str, str]] = []
        for name, item in value.items():
            if not ENV_KEY_RE.fullmatch(name):
                self.problem(f"{key}.{_key_text(name)}: not a valid environment variable name")
            elif not isinstance(item, str) or "\x00" in item:
                self.problem(f"{key}.{name}: must be a string without NUL bytes")
            else:
                pairs.append((name, item))
        return tuple(pairs)

    def integer(self, raw: dict[str, object], key: str, default: int,
                *, low: int, high: int) -> int:
        value = self._get(raw, key)
        if value is _MISSING:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(f"{key}: must be a whole number, got {_short(value)}")
            return default
        if not low <= value <= high:
            self.problem(f"{key}: must be between {low} and {high}, got {value}")
            return default
        return value

    def duration(self, raw: dict[str, object], key: str, default: str,
                 *, minimum: float = 0.0) -> float:
        value = self._get(raw, key)
        seconds = parse_duration(default if value is _MISSING else value)
        if seconds is None:
            self.problem(f"{key}: must be a duration like \"500ms\", \"30s\", \"5m\" "
                         f"or a number of seconds, got {_short(value)}")
            return 1.0
        if seconds < minimum or seconds > 86400:
            self.problem(f"{key}: must be between {minimum:g}s and 24h, got {_short(value)}")
            return 1.0
        return seconds

    def port(self, key: str, value: object) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(f"{key}: must be a port number, got {_short(value)}")
            return None
        if not 1 <= value <= 65535:
            self.problem(f"{key}: port {value} is out of range 1-65535")
            return None
        if value < 1024 and os.geteuid() != 0:
            self.problem(f"{key}: port {value} is below 1024 and needs root; pick a port >= 1024")
            return None
        return value

    def port_pair(self, raw: dict[str, object], key: str,
                  default: tuple[int, int]) -> tuple[int, int] | None:
        value = self._get(raw, key)
        if value is _MISSING:
            return default
        if not isinstance(value, list) or len(value) != 2:
            self.problem(f"{key}: must be a list of two ports [blue, green], like [7001, 7002]")
            return None
        blue = self.port(f"{key}[0]", value[0])
        green = self.port(f"{key}[1]", value[1])
        if blue is None or green is None:
            return None
        if blue == green:
            self.problem(f"{key}: the two ports must differ, got {blue} twice")
            return None
        return blue, green

    def listen(self, raw: dict[str, object], key: str, default: str) -> str | None:
        value = self.string(raw, key, default)
        if value is None:
            return None
        host, sep, port_text = value.rpartition(":")
        if not sep:
            host, port_text = "127.0.0.1", value
        if not _is_listen_host(host) or not PORT_TEXT_RE.fullmatch(port_text):
            self.problem(f"{key}: must be HOST:PORT with an IP address, like \"127.0.0.1:8080\", "
                         f"got {_short(value)}")
            return None
        port = self.port(key, int(port_text))
        return None if port is None else f"{host}:{port}"

    def listen_differs_from_slots(self, listen: str, ports: tuple[int, int]) -> None:
        port = int(listen.rpartition(":")[2])
        if port in ports:
            self.problem(f"nginx.listen: port {port} is also a slot port in app.ports")

    def url_path(self, raw: dict[str, object], key: str, default: str) -> str | None:
        value = self.string(raw, key, default)
        if value is not None and not URL_PATH_RE.fullmatch(value):
            self.problem(f"{key}: must start with / and contain no spaces or control characters, "
                         f"got {_short(value)}")
            return None
        return value

    def host_header(self, raw: dict[str, object], key: str) -> str | None:
        value = self.string(raw, key, "")
        if value and not HOST_RE.fullmatch(value):
            self.problem(f"{key}: must be a host name like \"example.com\", got {_short(value)}")
            return None
        return value

    def statuses(self, raw: dict[str, object], key: str) -> frozenset[int] | None:
        value = self._get(raw, key)
        if value is _MISSING:
            return frozenset({200})
        items = value if isinstance(value, list) else [value]
        if not items:
            self.problem(f"{key}: must list at least one status, like [200] or \"2xx\"")
            return None
        codes: set[int] = set()
        for item in items:
            found = _status_codes(item)
            if not found:
                self.problem(f"{key}: {_short(item)} is not a status (100-599), a class like "
                             "\"2xx\" or a range like \"200-299\"")
                return None
            codes |= found
        return frozenset(codes)

    def choice(self, raw: dict[str, object], key: str, enum: type[E], default: E) -> E | None:
        value = self.string(raw, key, default.value)
        if value is None:
            return None
        try:
            return enum(value)
        except ValueError:
            allowed = ", ".join(f'"{m.value}"' for m in enum)
            self.problem(f"{key}: must be one of {allowed}, got {_short(value)}")
            return None

    def path(self, raw: dict[str, object], key: str, default: str | None,
             *, parent_exists: bool = False, directory: bool = False) -> Path | None:
        """A path (relative to the config file); it may reach nginx, so keep it plain.

        `directory`: the path names a directory (else a file), so an existing one of the
        other kind is refused.
        """
        value = self.string(raw, key, default)
        if value is None:
            return None
        try:
            path = self.base / Path(value).expanduser()
        except RuntimeError:  # "~someone" for a user that does not exist
            self.problem(f"{key}: cannot expand {_short(value)}: no such user's home directory")
            return None
        if not value or not SAFE_PATH_RE.fullmatch(str(path)):
            self.problem(f"{key}: must be a path made of A-Z a-z 0-9 / . _ - + @ "
                         f"(nginx reads it), got {_short(value)}")
            return None
        if parent_exists and not _is_dir(path.parent):
            self.problem(f"{key}: directory {path.parent} does not exist")
            return None
        if _exists(path) and _is_dir(path) != directory:
            want, got = ("a directory", "a file") if directory else ("a file", "a directory")
            self.problem(f"{key}: {path} is {got}; it must name {want}")
            return None
        return path

    def socket_path(self, raw: dict[str, object], key: str, default: Path,
                    *, created: tuple[Path, ...]) -> Path | None:
        """A unix socket nginx binds: short enough, in a folder that exists or that we create."""
        path = self.path(raw, key, str(default))
        if path is None:
            return None
        if len(os.fsencode(path)) > SOCKET_PATH_MAX:
            self.problem(f"{key}: unix socket path {path} is longer than {SOCKET_PATH_MAX} bytes "
                         f"(nginx also binds it with a generation suffix, and unix socket paths "
                         f"end at {UNIX_PATH_MAX}); set nginx.admin_socket (or state_dir) to a "
                         "shorter path")
            return None
        if path.parent not in created and not _is_dir(path.parent):
            self.problem(f"{key}: directory {path.parent} does not exist (nginx creates the "
                         "socket in it)")
            return None
        return path
