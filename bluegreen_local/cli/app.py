"""The typer app: each command parses, calls one use case, renders (text, or --json)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from bluegreen_local import __version__
from bluegreen_local.cli import documents as doc
from bluegreen_local.cli.common import (
    Commands,
    ConfigOpt,
    JsonOpt,
    PhaseClock,
    WaitLockOpt,
    cli_errors,
    duration,
    emit,
    load,
    reporter,
)
from bluegreen_local.cli.render import (
    out,
    render_check,
    render_deploy,
    render_down,
    render_history,
    render_init,
    render_plan,
    render_raw,
    render_recover,
    render_status,
)
from bluegreen_local.model.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from pathlib import Path

    from bluegreen_local.model.results import DeployResult

app = typer.Typer(
    name="bluegreen",
    cls=Commands,
    help="Zero-downtime blue-green deploys on one server behind nginx.\n\n"
         "The app runs in two slots (blue and green, one port each). `deploy` starts the new "
         "version on the idle slot, waits until it is healthy, points nginx at it, drains the "
         "old slot and stops it. A version that fails its health check never gets traffic.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        # A second Ctrl-C while the first one's clean-up is reported: still exit 130.
        sys.exit(int(ExitCode.INTERRUPTED))


def _moved(result: DeployResult, json_out: bool, clock: PhaseClock) -> None:
    emit(doc.deploy_document(result, clock.ended_at)) if json_out else render_deploy(result)


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


# -- commands that move traffic ---------------------------------------------------------------


@app.command("deploy")
def deploy_cmd(
    version: Annotated[str, typer.Argument(help="Version to deploy (A-Z a-z 0-9 . _ + -).")],
    config_path: ConfigOpt = None,
    json_out: JsonOpt = False,
    force: Annotated[bool, typer.Option(
        "--force", help="Deploy even if VERSION is already live and healthy.")] = False,
    wait_lock: WaitLockOpt = "0s",
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", "--check",
        help="Change nothing; say what the deploy would do: no-op or not, slot, port, the "
             "idle port's holder, the nginx file diff. For Ansible's check mode. Takes no "
             "lock; exit 7 if the deploy would find the idle port taken.")] = False,
    skip_capacity_check: Annotated[bool, typer.Option(
        "--skip-capacity-check", help="Start VERSION even if MemAvailable is below its need "
        "(exit 9 otherwise); recorded in history.")] = False,
) -> None:
    """Start VERSION on the idle slot and move traffic to it once healthy.

    A no-op (exit 0, changed: false) when VERSION is already live and healthy.
    Exit codes: 2 usage, 3 config, 4 did not start or health gate failed, 5 nginx refused,
    6 locked, 7 port taken, 9 not enough memory, 10 environment (disk full, state directory
    unusable, docker engine unreachable).
    With --dry-run (alias --check) nothing is started, stopped or written.
    """
    from bluegreen_local.usecases import deploy

    clock, wait = reporter(json_out), duration(wait_lock)
    if dry_run:
        _dry_run(version, config_path, json_out, force=force)
        return
    with cli_errors(json_out):
        result = deploy.deploy(load(config_path), version, force=force, wait_lock=wait,
                               report=clock, skip_capacity_check=skip_capacity_check)
    _moved(result, json_out, clock)


def _dry_run(version: str, config_path: Path | None, json_out: bool, *, force: bool) -> None:
    from bluegreen_local.usecases import plan

    with cli_errors(json_out):
        result = plan.dry_run(load(config_path), version, force=force)
    emit(doc.plan_document(result)) if json_out else render_plan(result)


@app.command()
def rollback(config_path: ConfigOpt = None, json_out: JsonOpt = False,
             wait_lock: WaitLockOpt = "0s") -> None:
    """Roll back: flip to the warm old slot if one runs, else redeploy the previous version.

    With deploy.keep_old set, the old version keeps running after a deploy; rollback then
    health-checks it, points nginx back at it, drains and stops the bad version (no start).
    Otherwise it deploys the previous version again (start, health gate, switch, drain, stop).
    Exit codes: 2 nothing to roll back to, 4 health, 5 nginx, 6 locked, 7 port taken.
    """
    from bluegreen_local.usecases import deploy

    clock, wait = reporter(json_out), duration(wait_lock)
    with cli_errors(json_out):
        result = deploy.rollback(load(config_path), wait_lock=wait, report=clock)
    _moved(result, json_out, clock)


@app.command()
def up(config_path: ConfigOpt = None, json_out: JsonOpt = False,
       wait_lock: WaitLockOpt = "0s") -> None:
    """Make sure the live version runs, is healthy and is served by nginx (run it at boot).

    Idempotent: when everything already runs, it changes nothing (changed: false).
    """
    from bluegreen_local.usecases import deploy

    clock, wait = reporter(json_out), duration(wait_lock)
    with cli_errors(json_out):
        result = deploy.up(load(config_path), wait_lock=wait, report=clock)
    _moved(result, json_out, clock)


@app.command()
def recover(config_path: ConfigOpt = None, json_out: JsonOpt = False,
            wait_lock: WaitLockOpt = "0s") -> None:
    """Finish or undo what an interrupted command left behind (deploy does this first too)."""
    from bluegreen_local.usecases import deploy

    wait = duration(wait_lock)
    with cli_errors(json_out):
        result = deploy.recover_now(load(config_path), wait_lock=wait)
    if json_out:
        emit(doc.recover_document(result.actions, result.state.live))
    else:
        render_recover(result.actions)


# -- commands that look -----------------------------------------------------------------------


@app.command()
def status(
    config_path: ConfigOpt = None,
    json_out: JsonOpt = False,
    check: Annotated[bool, typer.Option(
        "--check", help="Exit non-zero when state, the slots and nginx disagree (drift): 4 "
                        "for the app's side (live slot down or unhealthy, a run interrupted), "
                        "5 for nginx's (not running, other files or generation). For "
                        "monitoring; a deploy in progress is not drift.")] = False,
) -> None:
    """Show the live and idle slots, their health, nginx and the last event. Changes nothing.
    Exits 0 unless --check; `drift:` lines name each problem and the command that fixes it."""
    from bluegreen_local.usecases import status as ops

    with cli_errors(json_out):
        result = ops.status(load(config_path))
    emit(doc.status_document(result)) if json_out else render_status(result)
    if check and result.drift_exit_code:
        raise typer.Exit(result.drift_exit_code)


@app.command()
def history(
    config_path: ConfigOpt = None,
    json_out: JsonOpt = False,
    limit: Annotated[int, typer.Option("-n", help="How many events to show.")] = 20,
) -> None:
    """List past deploys, rollbacks and downs, newest first."""
    from bluegreen_local.usecases import manage as ops

    with cli_errors(json_out):
        events = ops.history(load(config_path), limit)
    emit(doc.history_document(events)) if json_out else render_history(events)


@app.command()
def check(
    config_path: ConfigOpt = None,
    json_out: JsonOpt = False,
    snippet: Annotated[bool, typer.Option(
        "--snippet", help="System mode: print only the nginx site snippet, as is, for "
                          "`> FILE`; check nothing.")] = False,
) -> None:
    """Validate the config, the nginx setup and the ports; print the site snippet.

    Changes nothing, except that in system mode it writes the upstream file (a placeholder
    with no live version) when there is none yet, so that a site can name the upstream
    before the first deploy. System mode also reads `nginx -T` and warns when no enabled
    site proxies to the upstream. Exit 3 when anything failed; the report (or its --json
    document) says what.
    """
    from bluegreen_local.usecases import manage as ops

    if snippet:
        _snippet(config_path, json_out)
        return
    with cli_errors(json_out):
        result = ops.check(load(config_path))
    emit(doc.check_document(result)) if json_out else render_check(result)
    if not result.ok:
        raise typer.Exit(int(ExitCode.CONFIG))


def _snippet(config_path: Path | None, json_out: bool) -> None:
    from bluegreen_local.usecases import onboard

    with cli_errors(json_out):
        if json_out:
            raise UsageError("--snippet prints the snippet alone; check --json has it as "
                             '"snippet"', failed="--snippet and --json together",
                             unchanged="Nothing was changed.", next_step="drop one of them")
        text = onboard.site_snippet(load(config_path))
    render_raw(text)


# -- set-up and tidy-up -----------------------------------------------------------------------


@app.command()
def down(config_path: ConfigOpt = None, json_out: JsonOpt = False,
         wait_lock: WaitLockOpt = "0s") -> None:
    """Stop both slots and, in managed mode, the private nginx.

    What was live is remembered: `bluegreen up` starts exactly that version again (the shipped
    systemd unit runs `down` on stop and `up` on start). In system mode nginx keeps running
    and the site answers 502 until `up` or the next deploy.
    """
    from bluegreen_local.usecases import manage as ops

    wait = duration(wait_lock)
    with cli_errors(json_out):
        result = ops.down(load(config_path), wait_lock=wait)
    emit(doc.down_document(result)) if json_out else render_down(result)


@app.command()
def init(
    config_path: ConfigOpt = None,
    json_out: JsonOpt = False,
    name: Annotated[str, typer.Option("--name", help="The app's name.")] = "myapp",
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
) -> None:
    """Write a commented starter bluegreen.toml where the other commands look for it.

    The file is -c PATH, else $BLUEGREEN_CONFIG, else ./bluegreen.toml. An existing file is
    left alone (exit 2) unless --force.
    """
    from bluegreen_local import config
    from bluegreen_local.usecases import manage

    with cli_errors(json_out):
        path = manage.init(config.resolve_path(config_path), name, force=force)
    emit(doc.init_document(path, name)) if json_out else render_init(path)


# Commands of other areas register on `app` from their own modules.
from bluegreen_local.cli import warm as _warm  # noqa: E402,F401
