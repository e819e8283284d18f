"""The error hierarchy: every failure the tool expects, each with its exit code and kind."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes; the README documents this table."""

    OK = 0
    UNEXPECTED = 1  # a bug: the traceback is kept
    USAGE = 2
    CONFIG = 3
    HEALTH = 4  # the new version did not start, or never became healthy
    NGINX = 5
    LOCKED = 6
    PORT_CONFLICT = 7
    SWITCHED_BACK = 8  # reserved: verification after the switch failed and traffic went back
    CAPACITY = 9  # not enough memory for a second slot beside the live one
    ENVIRONMENT = 10  # the machine, not the tool: a full disk, an unusable state directory
    INTERRUPTED = 130


class BlueGreenError(Exception):
    """Base of every expected failure; the message says what failed, what stayed, what to do.

    `failed`, `unchanged` and `next_step` are those three parts on their own, for the JSON
    error document; a raise site that gives only them gets them joined as its message.
    """

    exit_code: ExitCode = ExitCode.UNEXPECTED
    kind: str = "bug"  # the JSON error document's `kind`: short, stable, for playbooks

    def __init__(self, message: str = "", *, failed: str | None = None,
                 unchanged: str | None = None, next_step: str | None = None) -> None:
        self.failed = failed
        self.unchanged = unchanged
        self.next_step = next_step
        super().__init__(message or " ".join(p for p in (failed, unchanged, next_step) if p))


class UsageError(BlueGreenError):
    """A command-line value is not acceptable (bad version string, conflicting flags)."""

    exit_code = ExitCode.USAGE
    kind = "usage"


class ConfigError(BlueGreenError):
    """The configuration file is missing or invalid; nothing was touched."""

    exit_code = ExitCode.CONFIG
    kind = "config"

    def __init__(self, problems: list[str], source: str = "") -> None:
        self.problems = problems
        self.source = source
        where = f"{source}: " if source else ""
        if len(problems) == 1:
            text = f"{where}{problems[0]}"
        else:
            text = f"{where}{len(problems)} problems:\n" + "\n".join(f"  {p}" for p in problems)
        unchanged, next_step = "Nothing was changed.", "Fix the configuration and run again."
        super().__init__(f"{text}\n{unchanged} {next_step}", failed=text, unchanged=unchanged,
                         next_step=next_step)


class HealthCheckError(BlueGreenError):
    """The new version never became healthy; traffic did not move."""

    exit_code = ExitCode.HEALTH
    kind = "health"


class NginxError(BlueGreenError):
    """nginx refused the new configuration or did not load it; traffic did not move."""

    exit_code = ExitCode.NGINX
    kind = "nginx"


class LockedError(BlueGreenError):
    """Another bluegreen command holds the app's lock."""

    exit_code = ExitCode.LOCKED
    kind = "lock"


class PortConflictError(BlueGreenError):
    """The idle port is taken by a process that is not ours; nothing was changed."""

    exit_code = ExitCode.PORT_CONFLICT
    kind = "port"


class RunnerError(BlueGreenError):
    """A slot process could not be started or stopped."""

    exit_code = ExitCode.HEALTH  # like a version that never became healthy: it did not start
    kind = "start"


class CapacityError(BlueGreenError):
    """The host has too little memory to run the new version beside the live one; nothing
    was started."""

    exit_code = ExitCode.CAPACITY
    kind = "capacity"


class EnvironmentFault(BlueGreenError):
    """The machine let the command down (disk full, a directory unusable, a service
    unreachable): not a bug of the tool, and fixed outside it."""

    exit_code = ExitCode.ENVIRONMENT
    kind = "environment"


class StateError(EnvironmentFault):
    """The state directory or its files cannot be read or written."""


class CommandError(BlueGreenError):
    """An external command could not be run, timed out or failed."""

    exit_code = ExitCode.UNEXPECTED
    kind = "command"

    def __init__(self, message: str, *, output: str = "") -> None:
        self.output = output
        super().__init__(message)


class Interrupted(BlueGreenError):
    """The command was interrupted; the message says what was cleaned up."""

    exit_code = ExitCode.INTERRUPTED
    kind = "interrupted"


class ReloadUndoFailed(NginxError):
    """A failed reload could not be confirmed undone: nginx may serve either slot."""
