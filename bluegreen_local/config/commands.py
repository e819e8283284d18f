"""Getters for what reaches argv and the app's environment: commands, templates, env tables."""

from __future__ import annotations

import shlex

from bluegreen_local.config.fields import ENV_KEY_RE, key_text, placeholder_problem
from bluegreen_local.config.reader import MISSING
from bluegreen_local.config.scalars import Scalars
from bluegreen_local.util.which import SBIN_DIRS, find_program


class Commands(Scalars):
    """Commands are split like a shell would split them, then run without one."""

    __slots__ = ()

    def template_str(self, name: str, *, required: bool = False, doc: str) -> str | None:
        """A string with {port}/{version}/{slot} placeholders (optional unless required)."""
        value = self.string(name, required=required, doc=doc)
        if value is None:
            return None
        why = placeholder_problem(value)
        if why:
            self.problem(name, why)
            return None
        return value

    def command_template(self, name: str, *, required: bool = False,
                         doc: str) -> tuple[str, ...] | None:
        value = self.template_str(name, required=required, doc=doc)
        return None if value is None else self._split(name, value)

    def command(self, name: str, default: str, *, doc: str) -> tuple[str, ...] | None:
        """An nginx command: its program found as `program` finds it."""
        value = self.string(name, default, doc=doc)
        argv = None if value is None else self._split(name, value)
        return None if argv is None else (found(argv[0]), *argv[1:])

    def optional_command(self, name: str, *, doc: str) -> tuple[str, ...] | None:
        """A command that may be left out (None); one that is given must be valid."""
        value = self.string(name, doc=doc)
        argv = None if value is None else self._split(name, value)
        return None if argv is None else (found(argv[0]), *argv[1:])

    def program(self, name: str, default: str, *, doc: str) -> str | None:
        """A program to run, found on PATH or in /usr/sbin and /usr/local/sbin (where nginx
        is, off a normal user's PATH). One found nowhere is kept as written: the commands
        that run it say so, naming the key, and the others still work."""
        value = self.string(name, default, doc=doc)
        if value == "":
            self.problem(name, "must name a program to run")
            return None
        return None if value is None else found(value)

    def _split(self, name: str, value: str) -> tuple[str, ...] | None:
        try:
            argv = tuple(shlex.split(value))
        except ValueError as exc:
            self.problem(name, f"cannot be split into arguments ({exc})")
            return None
        if not argv:
            self.problem(name, "must name a program to run")
            return None
        return argv

    def env_table(self, name: str, *, doc: str) -> tuple[tuple[str, str], ...]:
        """Environment variables for the app; values take the {port}/{version}/{slot}
        placeholders."""
        self.document(name, doc, {})
        value = self.value(name)
        if value is MISSING:
            return ()
        if not isinstance(value, dict):
            self.problem(name, "must be a table of strings, like { APP_ENV = \"prod\" }")
            return ()
        pairs: list[tuple[str, str]] = []
        for var, item in value.items():
            if not ENV_KEY_RE.fullmatch(var):
                self.problem(f"{name}.{key_text(var)}", "not a valid environment variable name")
            elif not isinstance(item, str) or "\x00" in item:
                self.problem(f"{name}.{var}", "must be a string without NUL bytes")
            elif why := placeholder_problem(item):
                # Expanded like app.command's: a typo must not reach the app as literal text.
                self.problem(f"{name}.{var}", why)
            else:
                pairs.append((var, item))
        return tuple(pairs)


def found(program: str) -> str:
    """A bare program name as the full path it has now, or as written if it is nowhere."""
    if "/" in program:
        return program  # run as written; exec resolves it
    where = find_program(program, extra_dirs=SBIN_DIRS)
    return program if where.path is None else str(where.path)
