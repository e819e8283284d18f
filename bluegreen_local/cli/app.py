"""The typer app: parse, call one use case, render (rich on a terminal, or --json)."""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from bluegreen_local import __version__
from bluegreen_local.cli.render import (
    err,
    out,
    render_check,
    render_deploy,
    render_down,
    render_history,
    render_status,
)
from bluegreen_local.model.errors import BlueGreenError, ExitCode

if TYPE_CHECKING:
    from bluegreen_local.config import Config
    from bluegreen_local.engine.deployment import Reporter
    from bluegreen_local.model.results import DeployResult
    from bluegreen_local.model.types import Phase

app = typer.Typer(
    name="bluegreen",
    help="Zero-downtime blue-green deploys on one server behind nginx.\n\n"
         "The app runs in two slots (blue and green, one port each). `deploy` starts the new "
         "version on the idle slot, waits until it is healthy, points nginx at it, drains the "
         "old slot and stops it. A version that fails its health check never gets traffic.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)



app = typer.Typer(
    name="bluegreen",
    help="Zero-downtime blue-green deploys on one server behind nginx.\n\n"
         "The app runs in two slots (blue and green, one port each). `deploy` starts the new "
         "version on the idle slot, waits until it is healthy, points nginx at it, drains the "
         "old slot and stops it. A version that fails its health check never gets traffic.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


ConfigOpt = Annotated[Path | None, typer.Option(
    "-c", "--config", help="Config file [default: $BLUEGREEN_CONFIG, else ./bluegreen.toml].",
    show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print a JSON document instead of text.")]
WaitLockOpt = Annotated[str, typer.Option(
    "--wait-lock", help="Wait up to this long (e.g. 60s) for another command's lock.",
    metavar="DURATION")]


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        # A second Ctrl-C while the first one's clean-up is reported: still exit 130.
        sys.exit(int(ExitCode.INTERRUPTED))


# -- error handling and rendering -------------------------------------------------------------


@contextlib.contextmanager
def cli_errors(json_out: bool = False) -> Iterator[None]:
    """The one place that turns our errors into messages and exit codes."""
    try:
        yield
    except BlueGreenError as exc:
        _fail(str(exc), exc.exit_code, json_out)
    except KeyboardInterrupt:
        _fail("interrupted", ExitCode.INTERRUPTED, json_out)


def _fail(message: str, code: ExitCode, json_out: bool) -> NoReturn:
    if json_out:
        print(json.dumps({"ok": False, "error": message, "exit_code": int(code)}))
    # Messages carry app output and paths; print them literally, never as rich markup.
    err().print("error: ", style="bold red", end="")
    err().print(message, markup=False, soft_wrap=True)
    raise typer.Exit(int(code))


def _dump(value: object) -> None:
    from bluegreen_local.cli.documents import document

    print(document(value))


def _progress(phase: Phase, seconds: float, detail: str) -> None:
    err().print(f"[green]✓[/] {phase.value:<9} {seconds * 1000:8.0f} ms  ", end="")
    err().print(detail, markup=False, soft_wrap=True)


def _duration(text: str) -> float:
    from bluegreen_local.config.fields import parse_duration

    seconds = parse_duration(text)
    if seconds is None or seconds < 0:
        raise typer.BadParameter(f"{text!r} is not a duration like 30s or 2m")
    return seconds


def _load(path: Path | None) -> Config:
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


def _reporter(json_out: bool) -> PhaseClock:
    from bluegreen_local.engine.deployment import quiet

    return PhaseClock(quiet if json_out else _progress)


def _answer(result: DeployResult, json_out: bool, clock: PhaseClock) -> None:
    if json_out:
        import dataclasses

        print(json.dumps({**dataclasses.asdict(result), "ended_at": clock.ended_at}, indent=2))
    else:
        render_deploy(result)


# -- commands ---------------------------------------------------------------------------------


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Show the version and exit.")] = False,
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="Log every step.")] = False,
) -> None:
    if version:
        out().print(f"bluegreen-local {__version__}")
        raise typer.Exit()
    import logging

    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


@app.command("deploy")
def deploy_cmd(
    version: Annotated[str, typer.Argument(help="Version to deploy (A-Z a-z 0-9 . _ + -).")],
    config_path: ConfigOpt = None,
    json_out: JsonOpt = False,
    force: Annotated[bool, typer.Option(
        "--force", help="Deploy even if VERSION is already live and healthy.")] = False,
    wait_lock: WaitLockOpt = "0s",
) -> None:
    """Start VERSION on the idle slot and move traffic to it once healthy.

    A no-op (exit 0, changed: false) when VERSION is already live and healthy.
    Exit codes: 3 config, 4 health gate failed, 5 nginx refused, 6 locked, 7 port taken.
    """
    from bluegreen_local.usecases import deploy

    clock = _reporter(json_out)
    with cli_errors(json_out):
        result = deploy.deploy(_load(config_path), version, force=force,
                               wait_lock=_duration(wait_lock), report=clock)
    _answer(result, json_out, clock)


@app.command()
def rollback(config_path: ConfigOpt = None, json_out: JsonOpt = False,
             wait_lock: WaitLockOpt = "0s") -> None:
    """Go back to the previous version (a flip if its slot still runs, else a full deploy)."""
    from bluegreen_local.usecases import deploy

    clock = _reporter(json_out)
    with cli_errors(json_out):
        result = deploy.rollback(_load(config_path), wait_lock=_duration(wait_lock),
                                 report=clock)
    _answer(result, json_out, clock)


@app.command()
def up(config_path: ConfigOpt = None, json_out: JsonOpt = False,
       wait_lock: WaitLockOpt = "0s") -> None:
    """Make sure the live version runs, is healthy and is served by nginx (run it at boot).

    Idempotent: when everything already runs, it changes nothing (changed: false).
    """
    from bluegreen_local.usecases import deploy

    clock = _reporter(json_out)
    with cli_errors(json_out):
        result = deploy.up(_load(config_path), wait_lock=_duration(wait_lock), report=clock)
    _answer(result, json_out, clock)


@app.command()
def recover(config_path: ConfigOpt = None, json_out: JsonOpt = False,
            wait_lock: WaitLockOpt = "0s") -> None:
    """Finish or undo what an interrupted command left behind (deploy does this first too)."""
    from bluegreen_local.usecases import deploy

    with cli_errors(json_out):
        result = deploy.recover_now(_load(config_path), wait_lock=_duration(wait_lock))
    if json_out:
        from bluegreen_local.cli.documents import plain

        _dump({"ok": True, "changed": bool(result.actions), "actions": list(result.actions),
               "live": plain(result.state.live)})
    elif result.actions:
        for action in result.actions:
            out().print(f"recovered: {action}", markup=False)
    else:
        out().print("nothing to recover: state, nginx and the slots agree", markup=False)


@app.command()
def status(config_path: ConfigOpt = None, json_out: JsonOpt = False) -> None:
    """Show the live and idle slots, their health, nginx and the last event. Changes nothing."""
    from bluegreen_local.usecases import status as ops

    with cli_errors(json_out):
        result = ops.status(_load(config_path))
    _dump(result) if json_out else render_status(result)


@app.command()
def history(
    config_path: ConfigOpt = None,
    json_out: JsonOpt = False,
    limit: Annotated[int, typer.Option("-n", help="How many events to show.")] = 20,
) -> None:
    """List past deploys, rollbacks and downs, newest first."""
    from bluegreen_local.usecases import manage as ops

    with cli_errors(json_out):
        events = ops.history(_load(config_path), limit)
    _dump(events) if json_out else render_history(events)


@app.command()
def down(config_path: ConfigOpt = None, json_out: JsonOpt = False,
         wait_lock: WaitLockOpt = "0s") -> None:
    """Stop both slots and, in managed mode, the private nginx."""
    from bluegreen_local.usecases import manage as ops

    with cli_errors(json_out):
        result = ops.down(_load(config_path), wait_lock=_duration(wait_lock))
    _dump(result) if json_out else render_down(result)


@app.command()
def check(config_path: ConfigOpt = None, json_out: JsonOpt = False) -> None:
    """Validate the config, the nginx setup and the ports without changing anything."""
    from bluegreen_local.usecases import manage as ops

    with cli_errors(json_out):
        result = ops.check(_load(config_path))
    _dump(result) if json_out else render_check(result)
    if not result.ok:
        raise typer.Exit(int(ExitCode.CONFIG))


@app.command()
def init(
    config_path: ConfigOpt = None,
    name: Annotated[str, typer.Option("--name", help="The app's name.")] = "myapp",
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
) -> None:
    """Write a commented starter bluegreen.toml."""
    from bluegreen_local import config
    from bluegreen_local.usecases import manage

    with cli_errors():
        path = manage.init(config.resolve_path(config_path), name, force=force)
    out().print(f"wrote {path}; edit it, then run `bluegreen check`", markup=False)
