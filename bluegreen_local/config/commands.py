"""Getters for what reaches argv and the app's environment: commands, templates, env tables."""

from __future__ import annotations

import shlex

from bluegreen_local.config.fields import ENV_KEY_RE, key_text, placeholder_problem
from bluegreen_local.config.reader import MISSING
from bluegreen_local.config.scalars import Scalars


class Commands(Scalars):
    """Commands are split like a shell would split them, then run without one."""

    __slots__ = ()

    def template_str(self, name: str, *, required: bool = False) -> str | None:
        """A string with {port}/{version}/{slot} placeholders (optional unless required)."""
        value = self.string(name, required=required)
        if value is None:
            return None
        why = placeholder_problem(value)
        if why:
            self.problem(name, why)
            return None
        return value

    def command_template(self, name: str, *, required: bool = False) -> tuple[str, ...] | None:
        value = self.template_str(name, required=required)
        return None if value is None else self._split(name, value)

    def command(self, name: str, default: str) -> tuple[str, ...] | None:
        value = self.string(name, default)
        return None if value is None else self._split(name, value)

    def optional_command(self, name: str) -> tuple[str, ...] | None:
        """A command that may be left out (None); one that is given must be valid."""
        value = self.string(name)
        return None if value is None else self._split(name, value)

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

    def env_table(self, name: str) -> tuple[tuple[str, str], ...]:
        """Environment variables for the app; values take the {port}/{version}/{slot}
        placeholders."""
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
