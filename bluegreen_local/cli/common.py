"""What every command shares: option types, config loading, progress, and the error handler."""

from __future__ import annotations

import contextlib
import inspect
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, NoReturn

import typer
from typer.core import TyperGroup

from bluegreen_local.cli.documents import Document, dump, error_document
from bluegreen_local.cli.render import render_error, render_progress
from bluegreen_local.model.errors import BlueGreenError, ExitCode, Interrupted, UsageError

if TYPE_CHECKING:
    from bluegreen_local.config import Config
    from bluegreen_local.engine.phases import Reporter
    from bluegreen_local.model.types import Phase

ConfigOpt = Annotated[Path | None, typer.Option(
    "-c", "--config", help="Config file (default: $BLUEGREEN_CONFIG, else ./bluegreen.toml).",
    show_default=False)]
JsonOpt = Annotated[bool, typer.Option(
    "--json", help="Print a JSON document instead of text (on failure too: an error document "
                   "with the exit code).")]
WaitLockOpt = Annotated[str, typer.Option(
    "--wait-lock", help="Wait up to this long (e.g. 60s) for another command's lock.",
    metavar="DURATION")]

_JSON_ASKED: Final = "bluegreen.json"  # in the click context's meta, shared by every level


def emit(document: Document) -> None:
    print(dump(document))


# -- errors --------------------------------------------------------------------------------


@contextlib.contextmanager
def cli_errors(json_out: bool = False) -> Iterator[None]:
    """The one place that turns our errors into messages, documents and exit codes.

    A bug keeps its traceback (exit 1); with --json it also gets an error document, so a
    playbook still reads why the command failed.
    """
    try:
        yield
    except BlueGreenError as exc:
        _fail(exc, json_out)
    except KeyboardInterrupt:
        _fail(Interrupted("interrupted"), json_out)
    except (typer.Exit, typer.Abort, typer.BadParameter):
        raise  # the parser's, not a bug: it reports them itself
    except Exception as exc:
        if json_out:
            emit(error_document(BlueGreenError(f"unexpected {type(exc).__name__}: {exc}")))
        raise


def _fail(exc: BlueGreenError, json_out: bool) -> NoReturn:
    if json_out:
        emit(error_document(exc))
    render_error(str(exc))
    raise typer.Exit(int(exc.exit_code))


class Commands(TyperGroup):
    """The command group. When the command line asks for --json, the parser's own usage
    errors (an unknown option, a missing argument) get an error document on stdout too; the
    parser still prints its message on stderr and exits 2."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        ctx.meta[_JSON_ASKED] = "--json" in args
        with _usage_document(ctx):
            return super().parse_args(ctx, args)

    def invoke(self, ctx: Any) -> Any:
        with _usage_document(ctx):
            return super().invoke(ctx)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is not None and command.help:
            command.help = reflow(command.help)
        return command


def reflow(text: str) -> str:
    """A docstring's paragraphs as single lines: the help renderer keeps every line break,
    so a docstring wrapped at 100 columns would print ragged at the terminal's width."""
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(" ".join(p.split()) for p in paragraphs)


@contextlib.contextmanager
def _usage_document(ctx: Any) -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        # Duck-typed: click's UsageError is typer's own copy in some typer versions.
        message = getattr(exc, "format_message", None)
        usage = getattr(exc, "exit_code", None) == ExitCode.USAGE
        if usage and callable(message) and ctx.meta.get(_JSON_ASKED):
            emit(error_document(_parser_error(exc, str(message()))))
        raise


def _parser_error(exc: Exception, message: str) -> UsageError:
    command = getattr(getattr(exc, "ctx", None), "command_path", None) or "bluegreen"
    return UsageError(message, failed=message, unchanged="Nothing was changed.",
                      next_step=f"see `{command} --help`")


# -- option values and progress ------------------------------------------------------------


def duration(text: str) -> float:
    """A --wait-lock value in seconds; a bad one is the parser's usage error (exit 2)."""
    from bluegreen_local.config.fields import parse_duration

    seconds = parse_duration(text)
    if seconds is None or seconds < 0:
        raise typer.BadParameter(f"{text!r} is not a duration like 30s or 2m")
    return seconds


def load(path: Path | None) -> Config:
    from bluegreen_local import config

    return config.load(path)


class PhaseClock:
    """A reporter that notes the wall-clock time each phase ended, for the --json answer.

    `ended_at` lets a caller line a deploy up with its own logs and load graphs (the bench
    measures readiness lag and switch windows with it).
    """

    def __init__(self, inner: Reporter) -> None:
        self.inner = inner
        self.ended_at: dict[str, float] = {}

    def __call__(self, phase: Phase, seconds: float, detail: str) -> None:
        self.ended_at[phase.value] = round(time.time(), 6)
        self.inner(phase, seconds, detail)


def reporter(json_out: bool) -> PhaseClock:
    """Progress lines on stderr for people; silence under --json, whose answer has them."""
    from bluegreen_local.engine.phases import quiet

    return PhaseClock(quiet if json_out else render_progress)
