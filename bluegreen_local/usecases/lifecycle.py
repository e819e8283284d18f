"""Use cases for the warm old slot: finalize (stop it now) and reap (enforce deadlines)."""

from __future__ import annotations

from dataclasses import replace

from bluegreen_local import store
from bluegreen_local.config.model import Config
from bluegreen_local.engine import progress, reaper, signals
from bluegreen_local.engine.reconcile import Recovery, recover
from bluegreen_local.runners import make_runner


def reap(config: Config, *, wait_lock: float = 0.0) -> Recovery:
    """Stop every instance whose deadline has passed (and whatever else recovery finds).
    Idempotent: with nothing due it changes nothing. For a cron line or a systemd timer."""
    with store.locked(config.state_dir, wait=wait_lock), signals.interruptible():
        return recover(config, make_runner(config))


def finalize(config: Config, *, wait_lock: float = 0.0) -> Recovery:
    """Stop the warm old slot now: rollback becomes a redeploy again."""
    with store.locked(config.state_dir, wait=wait_lock), signals.interruptible():
        runner = make_runner(config)
        first = recover(config, runner)  # an expired deadline first, like every command
        st, old = reaper.release_warm(first.state)
        if old is None:
            raise progress.nothing_warm()
        store.save(config.state_dir, st)  # unclaimed now: recovery drains and stops it
        done = recover(config, runner)
        return replace(done, actions=(*first.actions, *done.actions))
