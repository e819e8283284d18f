"""The --json documents, the contract playbooks parse: one function per result, keys by name.

Each key is written out here rather than taken from a model's fields, so renaming a field
inside the tool cannot rename a key a playbook reads (tests/unit/test_contract.py pins them).
Every document starts with `"schema": SCHEMA`; a change that removes or renames a key, or
changes its meaning, raises SCHEMA. Adding a key does not. No typer and no rich here: the
`status --json` fast lane prints through this module too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Final, TypeAlias

if TYPE_CHECKING:
    from bluegreen_local.model.errors import BlueGreenError
    from bluegreen_local.model.results import (
        CheckResult,
        DeployResult,
        DownResult,
        HistoryEvent,
        NginxStatus,
        Plan,
        SlotStatus,
        StatusResult,
        Timings,
    )
    from bluegreen_local.model.types import Release, Slot

Json: TypeAlias = "bool | int | float | str | list[Json] | dict[str, Json] | None"
Document: TypeAlias = "dict[str, Json]"

SCHEMA: Final = 1


def dump(document: Document) -> str:
    return json.dumps(document, indent=2)


# -- commands that move traffic ------------------------------------------------------------


def deploy_document(result: DeployResult, ended_at: Mapping[str, float]) -> Document:
    """deploy, rollback and up; `ended_at` is the wall-clock time each phase ended."""
    return {
        "schema": SCHEMA, "ok": True, "changed": result.changed, "app": result.app,
        "version": result.version, "slot": _name(result.slot), "port": result.port,
        "previous": _release(result.previous), "timings": _timings(result.timings),
        "action": result.action, "drain_timed_out": result.drain_timed_out,
        "message": result.message, "ended_at": dict(ended_at),
    }


def plan_document(plan: Plan) -> Document:
    """deploy --dry-run: what the deploy would do, without doing it. `changed` is what the
    deploy would answer, so Ansible's check mode reports `changed` or `ok` as the run would."""
    return {
        "schema": SCHEMA, "ok": True, "changed": not plan.noop, "dry_run": True,
        "action": "deploy", "version": plan.version, "slot": _name(plan.slot),
        "port": plan.port, "nginx_diff": "".join(f.diff for f in plan.files),
        "noop": plan.noop, "app": plan.app, "live": _release(plan.live),
        "idle_port": None if plan.idle_port is None else str(plan.idle_port),
        "idle_port_detail": plan.idle_port_detail, "nginx_running": plan.nginx_running,
        "generation": plan.generation, "generation_placeholder": plan.placeholder,
        "nginx_files": [{"path": f.path, "changed": bool(f.diff)}
                        for f in plan.files],
        "recovery_pending": plan.recovery_pending, "message": plan.message,
    }


def recover_document(actions: Iterable[str], live: Release | None) -> Document:
    done: list[Json] = list(actions)
    return {"schema": SCHEMA, "ok": True, "changed": bool(done), "actions": done,
            "live": _release(live)}


# -- commands that look ------------------------------------------------------------------


def status_document(result: StatusResult) -> Document:
    return {
        "schema": SCHEMA, "app": result.app, "live": _slot_status(result.live),
        "idle": _slot_status(result.idle), "nginx": _nginx_status(result.nginx),
        "last_event": _event(result.last_event) if result.last_event else None,
        "problems": list(result.problems), "in_progress": result.in_progress,
        "drift_exit_code": result.drift_exit_code,
    }


def history_document(events: Iterable[HistoryEvent]) -> Document:
    """Newest first."""
    return {"schema": SCHEMA, "events": [_event(e) for e in events]}


def check_document(result: CheckResult) -> Document:
    return {
        "schema": SCHEMA, "app": result.app, "ok": result.ok,
        "items": [{"name": i.name, "ok": i.ok, "warning": i.warning, "detail": i.detail}
                  for i in result.items],
        "snippet": result.snippet,
    }


# -- set-up and tidy-up ------------------------------------------------------------------


def down_document(result: DownResult) -> Document:
    return {"schema": SCHEMA, "app": result.app,
            "stopped_slots": [_release(r) for r in result.stopped_slots],
            "nginx_stopped": result.nginx_stopped, "changed": result.changed,
            "message": result.message}


def init_document(path: Path, app: str) -> Document:
    return {"schema": SCHEMA, "ok": True, "changed": True, "path": str(path), "app": app}


def error_document(exc: BlueGreenError) -> Document:
    """Any failure: the human message, its exit code and kind, and its parts when known."""
    return {
        "schema": SCHEMA, "ok": False, "error": str(exc), "exit_code": int(exc.exit_code),
        "kind": exc.kind, "failed": exc.failed, "unchanged": exc.unchanged,
        "next": exc.next_step,
    }


# -- the parts ---------------------------------------------------------------------------


def _name(slot: Slot | None) -> str | None:
    return None if slot is None else str(slot)


def _release(release: Release | None) -> Json:
    if release is None:
        return None
    return {"slot": _name(release.slot), "port": release.port, "version": release.version}


def _timings(t: Timings | None) -> Json:
    if t is None:
        return None
    return {"start": t.start, "healthy": t.healthy, "switch": t.switch, "drain": t.drain,
            "stop": t.stop, "total": t.total}


def _slot_status(s: SlotStatus | None) -> Json:
    if s is None:
        return None
    return {"slot": _name(s.slot), "port": s.port, "version": s.version, "pid": s.pid,
            "running": s.running, "healthy": s.healthy, "uptime": s.uptime,
            "memory_rss": s.memory_rss, "role": s.role.value if s.role else None,
            "runs": s.runs, "until": s.until, "config_hash": s.config_hash}


def _nginx_status(n: NginxStatus) -> Json:
    return {"mode": n.mode, "running": n.running, "master_pid": n.master_pid,
            "listen": n.listen, "upstream_file": n.upstream_file,
            "generation_rendered": n.generation_rendered,
            "generation_served": n.generation_served}


def _event(e: HistoryEvent) -> Json:
    return {"time": e.time, "action": e.action, "outcome": e.outcome, "app": e.app,
            "version": e.version, "slot": _name(e.slot), "port": e.port,
            "previous": _release(e.previous), "user": e.user, "message": e.message,
            "timings": _timings(e.timings), "config_hash": e.config_hash}
