"""The error hierarchy: every failure the tool expects, each with its exit code."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes; the README documents this table."""

    OK = 0
    UNEXPECTED = 1
    USAGE = 2
    CONFIG = 3
    HEALTH = 4
    NGINX = 5
    LOCKED = 6
    PORT_CONFLICT = 7
    INTERRUPTED = 130


class BlueGreenError(Exception):
    """Base of every expected failure; the message says what failed, what stayed, what to do."""

    exit_code: ExitCode = ExitCode.UNEXPECTED


class UsageError(BlueGreenError):
    """A command-line value is not acceptable (bad version string, conflicting flags)."""

    exit_code = ExitCode.USAGE


class ConfigError(BlueGreenError):
    """The configuration file is missing or invalid; nothing was touched."""

    exit_code = ExitCode.CONFIG

    def __init__(self, problems: list[str], source: str = "") -> None:
        self.problems = problems
        self.source = source
        where = f"{source}: " if source else ""
        if len(problems) == 1:
            text = f"{where}{problems[0]}"
        else:
            text = f"{where}{len(problems)} problems:\n" + "\n".join(f"  {p}" for p in problems)
        super().__init__(text + "\nNothing was changed. Fix the configuration and run again.")


class HealthCheckError(BlueGreenError):
    """The new version never became healthy; traffic did not move."""

    exit_code = ExitCode.HEALTH


class NginxError(BlueGreenError):
    """nginx refused the new configuration or did not load it; traffic did not move."""

    exit_code = ExitCode.NGINX


class LockedError(BlueGreenError):
    """Another bluegreen command holds the app's lock."""

    exit_code = ExitCode.LOCKED


class PortConflictError(BlueGreenError):
    """The idle port is taken by a process that is not ours; nothing was changed."""

    exit_code = ExitCode.PORT_CONFLICT


class RunnerError(BlueGreenError):
    """A slot process could not be started or stopped."""

    exit_code = ExitCode.UNEXPECTED


class StateError(BlueGreenError):
    """The state directory or its files cannot be read or written."""

    exit_code = ExitCode.UNEXPECTED


class CommandError(BlueGreenError):
    """An external command could not be run, timed out or failed."""

    exit_code = ExitCode.UNEXPECTED

    def __init__(self, message: str, *, output: str = "") -> None:
        self.output = output
        super().__init__(message)


class Interrupted(BlueGreenError):
    """The command was interrupted; the message says what was cleaned up."""

    exit_code = ExitCode.INTERRUPTED


class ReloadUndoFailed(NginxError):
    """A failed reload could not be confirmed undone: nginx may serve either slot."""
