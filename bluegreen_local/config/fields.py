"""Field rules shared by config loading and the CLI: names, versions, durations, trust."""

from __future__ import annotations

import math
import os
import pwd
import re
import shlex
import stat
import string
from pathlib import Path
from typing import Final

from bluegreen_local.model.errors import UsageError

APP_NAME_RE: Final = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
# Versions reach argv, environment variables, file names and nginx comments: keep them tame.
VERSION_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,127}")
ENV_KEY_RE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
HOST_RE: Final = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,252})(:[0-9]{1,5})?")
URL_PATH_RE: Final = re.compile(r"/[\x21-\x7e]*")
# RFC 9110 tokens, and field values the probe can send as they are: no CR, LF or NUL can end
# a header line early or add one.
HEADER_NAME_RE: Final = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
HEADER_VALUE_RE: Final = re.compile(r"[\t\x20-\x7e]*")
HEADER_MAX: Final = 4096
# Host has its own key (health.host_header); the others decide how the request is framed.
# keep-alive, upgrade, te and trailer too: each probe is a fresh connection, closed after it.
PROBE_OWN_HEADERS: Final = frozenset({"host", "content-length", "transfer-encoding",
                                      "connection", "keep-alive", "upgrade", "te", "trailer"})
STATUS_CLASS_RE: Final = re.compile(r"([1-5])xx")
STATUS_RANGE_RE: Final = re.compile(r"([1-5][0-9][0-9])-([1-5][0-9][0-9])")
DURATION_RE: Final = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)?")
SAFE_PATH_RE: Final = re.compile(r"/[A-Za-z0-9._/@+-]*")
# ASCII digits only: str.isdigit() also accepts "²", which int() then refuses.
PORT_TEXT_RE: Final = re.compile(r"[0-9]{1,10}")
PLACEHOLDERS: Final = frozenset({"port", "version", "slot"})
UNIX_PATH_MAX: Final = 107  # sun_path is 108 bytes including the trailing NUL
# nginx also listens on "<admin_socket>.<8 hex>", the random part of a generation (see
# nginx.confirm_socket).
GENERATION_SUFFIX_MAX: Final = 9
SOCKET_PATH_MAX: Final = UNIX_PATH_MAX - GENERATION_SUFFIX_MAX
_UNITS: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def check_version(version: str) -> str:
    """Validate a version string from the command line."""
    if not VERSION_RE.fullmatch(version):
        shown = version
        if len(repr(shown)) > 42:
            # Cut what is shown, not the string: one control character shows as up to 10.
            shown = version[:40]
            while len(repr(shown)) > 42:
                shown = shown[:-1]
            shown += "..."
        raise UsageError(
            f"invalid version {shown!r}: use 1-128 characters from A-Z a-z 0-9 . _ + -, "
            "starting with a letter or digit. Nothing was changed."
        )
    return version


def parse_duration(value: object) -> float | None:
    """'500ms', '30s', '5m', '1h' or a number of seconds -> seconds; None if malformed."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        # tomllib's integers are unbounded; one too big for a float is far beyond any limit.
        if abs(value) >= 10**300:
            return math.inf if value > 0 else -math.inf
        return float(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if not isinstance(value, str):
        return None
    match = DURATION_RE.fullmatch(value.strip())
    if not match:
        return None
    return float(match.group(1)) * _UNITS[match.group(2)]


def placeholder_problem(template: str) -> str | None:
    """Why a {port}/{version}/{slot} template is malformed, or None if it is fine."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        return f"malformed placeholder ({exc}); write a literal brace as {{{{ or }}}}"
    for _, field, spec, conversion in parts:
        if field is None:
            continue
        if field not in PLACEHOLDERS:
            return f"unknown placeholder {{{field}}}; allowed: {{port}} {{version}} {{slot}}"
        if spec or conversion:
            written = "{" + field + (f"!{conversion}" if conversion else "") + \
                (f":{spec}" if spec else "") + "}"
            return f"placeholder {written} takes no conversion or format; write {{{field}}}"
    return None


def placeholders(template: str) -> frozenset[str]:
    """The placeholders a valid template uses ({port} -> "port")."""
    return frozenset(field for _, field, _, _ in string.Formatter().parse(template) if field)


def trust_problem(path: Path, info: os.stat_result, *, euid: int, what: str) -> str | None:
    """Why root must refuse a file it takes commands from (sshd's StrictModes), or None.

    Whoever can change such a file can make root run anything, so as root it must be owned by
    root and writable by nobody else. Other users are not checked: they only risk themselves.
    """
    if euid != 0:
        return None
    quoted = shlex.quote(str(path)) if str(path).isprintable() else shown(path)
    if info.st_uid != 0:
        return (f"as root, bluegreen refuses a {what} owned by {_user_name(info.st_uid)}: that "
                f"user could make root run any command. Fix: chown root {quoted} "
                f"(and chmod go-w {quoted})")
    writers = [who for bit, who in ((stat.S_IWGRP, "its group"), (stat.S_IWOTH, "everyone"))
               if info.st_mode & bit]
    if writers:
        return (f"as root, bluegreen refuses a {what} writable by {' and '.join(writers)} "
                f"(mode {stat.S_IMODE(info.st_mode):04o}): whoever can change it could make "
                f"root run any command. Fix: chmod go-w {quoted}")
    return None


def shown(path: Path) -> str:
    """A path as printed in a message: as is, or escaped if it holds control characters."""
    text = str(path)
    return text if text.isprintable() else repr(text)


def _user_name(uid: int) -> str:
    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


def key_text(key: str) -> str:
    """A TOML key as shown in a message: quoted when it holds control or non-ASCII characters."""
    return key if key.isascii() and key.isprintable() else repr(key)


def short(value: object) -> str:
    """A value as shown in a message: its repr, cut to 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
