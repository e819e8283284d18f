"""Commands for the warm old slot: `finalize` (stop it now) and `reap` (enforce deadlines)."""

from __future__ import annotations

from bluegreen_local.cli import documents as doc
from bluegreen_local.cli.app import app
from bluegreen_local.cli.common import (
    ConfigOpt,
    JsonOpt,
    WaitLockOpt,
    cli_errors,
    duration,
    emit,
    load,
)
from bluegreen_local.cli.render import render_recover
from bluegreen_local.engine.reconcile import Recovery


def _show(result: Recovery, json_out: bool) -> None:
    if json_out:
        emit(doc.recover_document(result.actions, result.state.live))
    else:
        render_recover(result.actions)


@app.command()
def finalize(config_path: ConfigOpt = None, json_out: JsonOpt = False,
             wait_lock: WaitLockOpt = "0s") -> None:
    """Stop the warm old slot now (deploy.keep_old); `rollback` then redeploys instead.

    Exit codes: 2 nothing is warm (nothing changed), 3 config, 6 locked.
    """
    from bluegreen_local.usecases import lifecycle

    wait = duration(wait_lock)
    with cli_errors(json_out):
        result = lifecycle.finalize(load(config_path), wait_lock=wait)
    _show(result, json_out)


@app.command()
def reap(config_path: ConfigOpt = None, json_out: JsonOpt = False,
         wait_lock: WaitLockOpt = "0s") -> None:
    """Stop every slot whose deadline passed (a warm old slot after keep_old). Idempotent.

    Every command that takes the lock does this first; run `reap` from cron or a systemd
    timer so a warm slot stops on time even when nobody runs the CLI (e.g. every minute,
    with --wait-lock 30s). Exit codes: 3 config, 6 locked.
    """
    from bluegreen_local.usecases import lifecycle

    wait = duration(wait_lock)
    with cli_errors(json_out):
        result = lifecycle.reap(load(config_path), wait_lock=wait)
    _show(result, json_out)
