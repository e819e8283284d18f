"""System mode: what the whole nginx configuration (`nginx -T`) says about our upstream."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final

from bluegreen_local.model.errors import CommandError, NginxError
from bluegreen_local.util import proc

# nginx -T writes each file it read after a line like this one, in the order it read them.
_FILE_RE: Final = re.compile(r"^# configuration file (.+):$")
# A word ends at whitespace or ; { } unless quoted; # starts a comment outside a word.
_TOKEN_RE: Final = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|[;{}]|#[^\n]*|[^\s;{}]+')


@dataclass(frozen=True, slots=True)
class Directive:
    """One directive of a dumped file: where it is and its words (name first, unquoted)."""

    file: str
    line: int
    words: tuple[str, ...]

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True, slots=True)
class Dump:
    """The configuration nginx parsed: every file it read and every directive in them."""

    files: tuple[str, ...]
    directives: tuple[Directive, ...]

    def proxies_to(self, upstream: str) -> list[Directive]:
        """The proxy_pass directives whose target is the upstream group `upstream`."""
        return [d for d in self.directives
                if d.words[0] == "proxy_pass" and len(d.words) > 1
                and _target_host(d.words[1]) == upstream]


def dump_argv(test_command: Sequence[str]) -> list[str] | None:
    """The configured test command with `-t` turned into `-T` (test, then print the whole
    configuration); None when it has no `-t` of its own (a wrapper script, say)."""
    argv = list(test_command)
    for i, word in enumerate(argv):
        if word in ("-t", "-T"):
            argv[i] = "-T"
            return argv
    return None


def read_dump(argv: Sequence[str]) -> Dump:
    """Run `nginx -T` and parse what it printed."""
    try:
        done = proc.run(argv, timeout=30, check=False)
    except CommandError as exc:
        raise NginxError(f"cannot read the nginx configuration: {exc}") from None
    if not done.ok:
        raise NginxError(f"`{shlex.join(argv)}` failed: {done.output.strip()}")
    return parse_dump(done.output)


def parse_dump(text: str) -> Dump:
    """Split `nginx -T` output into its files and directives. Lines before the first file
    header (nginx's own "syntax is ok", warnings) are not configuration."""
    files: list[str] = []
    directives: list[Directive] = []
    for name, body in _files(text):
        files.append(name)
        directives.extend(parse_file(name, body))
    return Dump(tuple(files), tuple(directives))


def _files(text: str) -> Iterator[tuple[str, str]]:
    """(file name, its text) for each dumped file."""
    name: str | None = None
    lines: list[str] = []
    for line in text.splitlines():
        match = _FILE_RE.match(line)
        if match is None:
            lines.append(line)
            continue
        if name is not None:
            yield name, "\n".join(lines)
        name, lines = match.group(1), []
    if name is not None:
        yield name, "\n".join(lines)


def parse_file(file: str, body: str) -> Iterator[Directive]:
    """The directives of one file's text, block openers (`server {`) included."""
    words: list[str] = []
    line, counted = 1, 0  # the line at offset `counted`: each newline is counted once
    for match in _TOKEN_RE.finditer(body):
        token = match.group()
        if token.startswith("#"):
            continue
        if not words:
            line += body.count("\n", counted, match.start())
            counted = match.start()
        if token in (";", "{", "}"):
            if words:
                yield Directive(file, line, tuple(words))
            words = []
            continue
        words.append(_unquote(token))
    if words:  # nginx would have refused this file; keep what is there anyway
        yield Directive(file, line, tuple(words))


def _unquote(word: str) -> str:
    if len(word) >= 2 and word[0] == word[-1] and word[0] in "\"'":
        return re.sub(r"\\(.)", r"\1", word[1:-1])
    return word


def _target_host(url: str) -> str | None:
    """The host part of a proxy_pass URL: an upstream group name or a host[:port]."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in ("http", "https"):
        return None
    return re.split(r"[/$?]", rest, maxsplit=1)[0]
