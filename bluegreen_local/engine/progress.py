"""The sentences a deploy reports about traffic and recovery."""

from __future__ import annotations

from bluegreen_local.engine.reconcile import Recovery
from bluegreen_local.model.types import Instance


def serving_text(live: Instance | None) -> str:
    if live is None:
        return "nothing was serving before and nothing serves now"
    return f"traffic stays on {live.slot} ({live.version}, port {live.port})"


def recovery_text(recovery: Recovery) -> str:
    killed = recovery.interrupted
    head = [f"a {killed.action} of {killed.version} was interrupted in phase {killed.phase}"] \
        if killed else []
    return "; ".join([*head, *recovery.actions]) or "nothing left behind"
