"""The --json contract: every document's exact keys and value types, nested ones too.

Playbooks read these keys. Each document is built here from a fully populated fake result, so
renaming a model field fails the test named after the document it would have broken, and a
key that a change renames, drops or retypes fails here before it reaches a playbook.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bluegreen_local.cli import documents as doc
from bluegreen_local.cli.app import app
from bluegreen_local.model.errors import (
    BlueGreenError,
    ConfigError,
    EnvironmentFault,
    ExitCode,
    LockedError,
    StateError,
)
from bluegreen_local.model.results import (
    CheckItem,
    CheckResult,
    DeployResult,
    DownResult,
    FileDiff,
    HistoryEvent,
    NginxStatus,
    Plan,
    PortUse,
    SlotStatus,
    StatusResult,
    Timings,
)
from bluegreen_local.model.types import Release, Role, Slot
from bluegreen_local.store import lock


@dataclass(frozen=True)
class Maybe:
    """A value of `shape`, or null."""

    shape: object


NUMBER = (int, float)
RELEASE = {"slot": str, "port": int, "version": str}
TIMINGS = dict.fromkeys(("start", "healthy", "switch", "drain", "stop", "total"), NUMBER)
EVENT = {"time": str, "action": str, "outcome": str, "app": str, "version": Maybe(str),
         "slot": Maybe(str), "port": Maybe(int), "previous": Maybe(RELEASE), "user": str,
         "message": str, "timings": Maybe(TIMINGS), "config_hash": Maybe(str)}
SLOT = {"slot": str, "port": int, "version": Maybe(str), "pid": Maybe(int), "running": bool,
        "healthy": Maybe(bool), "uptime": Maybe(NUMBER), "memory_rss": Maybe(int),
        "role": Maybe(str), "runs": Maybe(str), "until": Maybe(NUMBER),
        "config_hash": Maybe(str)}
NGINX = {"mode": str, "running": bool, "master_pid": Maybe(int), "listen": Maybe(str),
         "upstream_file": str, "generation_rendered": Maybe(str),
         "generation_served": Maybe(str)}
ERROR = {"schema": int, "ok": bool, "error": str, "exit_code": int, "kind": str,
         "failed": Maybe(str), "unchanged": Maybe(str), "next": Maybe(str)}

SHAPES: dict[str, dict[str, object]] = {
    "deploy": {"schema": int, "ok": bool, "changed": bool, "app": str, "version": str,
               "slot": str, "port": int, "previous": Maybe(RELEASE), "timings": TIMINGS,
               "action": str, "drain_timed_out": bool, "message": str,
               "ended_at": {"start": NUMBER, "switch": NUMBER}},
    "plan": {"schema": int, "ok": bool, "changed": bool, "dry_run": bool, "action": str,
             "version": str, "slot": str, "port": int, "nginx_diff": str, "noop": bool,
             "app": str, "live": Maybe(RELEASE), "idle_port": Maybe(str),
             "idle_port_detail": str, "nginx_running": bool, "generation": str,
             "generation_placeholder": Maybe(str),
             "nginx_files": [{"path": str, "changed": bool}], "recovery_pending": bool,
             "message": str},
    "recover": {"schema": int, "ok": bool, "changed": bool, "actions": [str],
                "live": Maybe(RELEASE)},
    "status": {"schema": int, "app": str, "live": Maybe(SLOT), "idle": Maybe(SLOT),
               "nginx": NGINX, "last_event": Maybe(EVENT), "problems": [str],
               "in_progress": Maybe(str), "drift_exit_code": int},
    "history": {"schema": int, "events": [EVENT]},
    "check": {"schema": int, "app": str, "ok": bool,
              "items": [{"name": str, "ok": bool, "warning": bool, "detail": str}],
              "snippet": str},
    "down": {"schema": int, "app": str, "stopped_slots": [RELEASE], "nginx_stopped": bool,
             "changed": bool, "message": str},
    "init": {"schema": int, "ok": bool, "changed": bool, "path": str, "app": str},
    "error": ERROR,
}

# The fakes are built inside each builder, so a model change fails the named document's test.
V1 = Release(Slot.BLUE, 7001, "v1")
FAILED = BlueGreenError(failed="green never became healthy.", unchanged="Traffic stays on blue.",
                        next_step="Read logs/green.log.")


def timed() -> Timings:
    return Timings(start=0.004, healthy=0.231, switch=0.155, drain=0.01, stop=0.07, total=0.48)


def event() -> HistoryEvent:
    return HistoryEvent(time="2025-01-01T00:00:00+00:00", action="deploy", outcome="ok",
                        app="web", version="v2", slot=Slot.GREEN, port=7002, previous=V1,
                        user="ops", message="v2 is live", timings=timed(),
                        config_hash="0123456789ab")


def proxy() -> NginxStatus:
    return NginxStatus(mode="managed", running=True, master_pid=99, listen="127.0.0.1:8080",
                       upstream_file="/s/up.conf", generation_rendered="7-ab",
                       generation_served="7-ab")


def status(*, empty: bool = False) -> StatusResult:
    if empty:
        return StatusResult(app="web", live=None, idle=None, nginx=proxy(), last_event=None)
    live = SlotStatus(slot=Slot.GREEN, port=7002, version="v2", pid=4242, running=True,
                      healthy=True, uptime=12.5, memory_rss=2**20, role=Role.LIVE,
                      runs="container 0a1b2c3d4e5f (image registry.local/web:v2)",
                      config_hash="0123456789ab")
    idle = SlotStatus(slot=Slot.BLUE, port=7001, version="v1", pid=4141, running=True,
                      healthy=False, uptime=3.0, memory_rss=2**19, role=Role.WARM,
                      runs="pid 4141", until=1.7e9, config_hash="ba9876543210")
    return StatusResult(app="web", live=live, idle=idle, nginx=proxy(), last_event=event(),
                        problems=("nginx is not running",), in_progress="a deploy of v3",
                        drift_exit_code=5)


def deployed(*, first: bool = False) -> DeployResult:
    return DeployResult(changed=not first, app="web", version="v2", slot=Slot.GREEN, port=7002,
                        previous=None if first else V1, timings=timed(), action="deploy",
                        drain_timed_out=True, message="v2 is live on green (port 7002)")


def planned() -> Plan:
    return Plan(app="web", version="v2", noop=False, slot=Slot.GREEN, port=7002, live=V1,
                idle_port=PortUse.STALE, idle_port_detail="our leftover v0 would be stopped",
                nginx_running=True, generation="8-xxxxxxxx", placeholder="xxxxxxxx",
                files=(FileDiff(path="/s/up.conf", diff="--- /s/up.conf\n+++ /s/up.conf\n"),
                       FileDiff(path="/s/nginx.conf", diff="")),
                refusal=None, recovery_pending=False, message="would start v2 on green")


def checked() -> CheckResult:
    return CheckResult(app="web", ok=True, items=(CheckItem(name="config", ok=True,
                                                            detail="valid"),), snippet="x")


BUILDERS: dict[str, Callable[[], doc.Document]] = {
    "deploy": lambda: doc.deploy_document(deployed(), {"start": 1.5, "switch": 2.25}),
    "plan": lambda: doc.plan_document(planned()),
    "recover": lambda: doc.recover_document(("v1 on blue (pid 7) had exited",), V1),
    "status": lambda: doc.status_document(status()),
    "history": lambda: doc.history_document([event(), event()]),
    "check": lambda: doc.check_document(checked()),
    "down": lambda: doc.down_document(DownResult(app="web", stopped_slots=(V1,),
                                                 nginx_stopped=True, changed=True,
                                                 message="`bluegreen up` starts v1 again")),
    "init": lambda: doc.init_document(Path("/etc/bluegreen.toml"), "web"),
    "error": lambda: doc.error_document(FAILED),
}


def assert_shape(value: object, shape: object, where: str) -> None:
    """`value` has exactly `shape`'s keys (recursively) and each value its exact type."""
    if isinstance(shape, Maybe):
        if value is not None:
            assert_shape(value, shape.shape, where)
    elif isinstance(shape, dict):
        assert isinstance(value, dict), f"{where}: {value!r} is not an object"
        assert list(value) == list(shape), f"{where}: keys {list(value)} != {list(shape)}"
        for key, sub in shape.items():
            assert_shape(value[key], sub, f"{where}.{key}")
    elif isinstance(shape, list):
        assert isinstance(value, list) and value, f"{where}: {value!r} is not a filled list"
        for i, item in enumerate(value):
            assert_shape(item, shape[0], f"{where}[{i}]")
    else:
        types = shape if isinstance(shape, tuple) else (shape,)
        # type(), not isinstance(): a bool is no int here, and an enum is no str
        assert type(value) in types, f"{where}: {value!r} is a {type(value).__name__}"


@pytest.mark.parametrize("name", list(SHAPES))
def test_document_keys_and_types(name: str) -> None:
    document = BUILDERS[name]()
    assert_shape(document, SHAPES[name], name)
    assert next(iter(document)) == "schema" and document["schema"] == doc.SCHEMA == 1
    assert json.loads(doc.dump(document)) == document
    if name in ("deploy", "plan", "recover", "init"):
        assert document["ok"] is True, "a success document says so literally"


def test_the_fakes_fill_every_optional_key() -> None:
    # Otherwise a Maybe(...) above would let a nested object go unchecked.
    status = BUILDERS["status"]()
    assert all(status[key] is not None for key in ("live", "idle", "last_event"))
    for slot in (status["live"], status["idle"]):
        assert isinstance(slot, dict)
        # A live slot has no deadline; the idle (warm) one fills "until".
        assert None not in [v for k, v in slot.items() if k != "until" or slot is status["idle"]]
    assert None not in BUILDERS["history"]()["events"][0].values()  # type: ignore[index,union-attr]
    assert None not in BUILDERS["error"]().values()
    assert None not in BUILDERS["plan"]().values()


def test_nothing_yet_gives_nulls_not_missing_keys() -> None:
    empty = doc.status_document(status(empty=True))
    assert_shape(empty, SHAPES["status"] | {"problems": list}, "status")
    first = doc.deploy_document(deployed(first=True), {})
    assert first["previous"] is None and first["ended_at"] == {}
    assert doc.recover_document((), None) == {"schema": 1, "ok": True, "changed": False,
                                              "actions": [], "live": None}
    assert doc.history_document([]) == {"schema": 1, "events": []}
    noop = doc.plan_document(replace(planned(), noop=True, live=None, idle_port=None,
                                     placeholder=None, files=(FileDiff("/s/up.conf", ""),)))
    assert_shape(noop, SHAPES["plan"], "plan")
    assert (noop["changed"], noop["nginx_diff"], noop["idle_port"], noop["live"]) == (
        False, "", None, None)
    assert noop["nginx_files"] == [{"path": "/s/up.conf", "changed": False}]


# -- error documents ---------------------------------------------------------------------------


def test_an_error_document_carries_the_parts() -> None:
    document = doc.error_document(FAILED)
    assert document == {
        "schema": 1, "ok": False,
        "error": "green never became healthy. Traffic stays on blue. Read logs/green.log.",
        "exit_code": 1, "kind": "bug", "failed": "green never became healthy.",
        "unchanged": "Traffic stays on blue.", "next": "Read logs/green.log."}


def test_parts_default_to_null_and_the_message_stays_whole() -> None:
    plain = doc.error_document(StateError("cannot write /s/state.json: disk full"))
    assert (plain["error"], plain["kind"], plain["exit_code"]) == (
        "cannot write /s/state.json: disk full", "environment", 10)
    assert plain["failed"] is plain["unchanged"] is plain["next"] is None
    given = BlueGreenError("the whole message", failed="a part")
    assert str(given) == "the whole message" and given.failed == "a part"


def test_a_config_error_fills_its_parts() -> None:
    document = doc.error_document(ConfigError(["a: x", "b: y"], "/etc/b.toml"))
    assert document["failed"] == "/etc/b.toml: 2 problems:\n  a: x\n  b: y"
    assert document["unchanged"] == "Nothing was changed."
    assert document["next"] == "Fix the configuration and run again."
    assert document["error"] == f"{document['failed']}\nNothing was changed. {document['next']}"


def test_the_lock_error_fills_its_parts(tmp_path: Path) -> None:
    with lock.locked(tmp_path), pytest.raises(LockedError) as caught, lock.locked(tmp_path):
        pass
    error = caught.value
    assert error.failed is not None and error.failed.startswith(
        f"another bluegreen command holds the lock {tmp_path / 'lock'} (pid ")
    assert (error.unchanged, error.next_step) == (
        "Nothing was changed.", "Wait for it to finish, then run again.")
    assert str(error) == f"{error.failed} Nothing was changed. {error.next_step}"


def test_an_environment_fault_is_no_bug() -> None:
    assert issubclass(StateError, EnvironmentFault)
    assert StateError.exit_code == EnvironmentFault.exit_code == ExitCode.ENVIRONMENT
    assert int(ExitCode.ENVIRONMENT) == 10


# -- through the CLI ---------------------------------------------------------------------------


def invoke(*args: str) -> dict[str, object]:
    result = CliRunner().invoke(app, list(args))
    document: dict[str, object] = json.loads(result.stdout)
    assert document.get("exit_code", 0) == result.exit_code, result.output
    return document


def test_init_json(tmp_path: Path) -> None:
    path = tmp_path / "bluegreen.toml"
    written = invoke("init", "-c", str(path), "--name", "shop", "--json")
    assert written == {"schema": 1, "ok": True, "changed": True, "path": str(path),
                       "app": "shop"}
    refused = invoke("init", "-c", str(path), "--json")
    assert_shape(refused, ERROR, "init refusal")
    assert (refused["exit_code"], refused["kind"]) == (2, "usage")
    assert refused["failed"] == f"{path} already exists"
    assert refused["next"] == "use --force to replace it"


def test_a_parser_error_under_json_is_a_document(config_file: Path) -> None:
    result = CliRunner().invoke(app, ["deploy", "v1", "--bogus", "--json", "-c",
                                      str(config_file)])
    assert result.exit_code == 2
    document = json.loads(result.stdout)
    assert_shape(document, ERROR, "usage")
    assert (document["kind"], document["error"]) == ("usage", "No such option: --bogus")
    assert "--bogus" in result.stderr, "the parser still says it in its own words"
    quiet = CliRunner().invoke(app, ["deploy", "v1", "--bogus", "-c", str(config_file)])
    assert quiet.exit_code == 2 and quiet.stdout == ""


def test_an_unusable_state_dir_exits_10(tmp_path: Path) -> None:
    (tmp_path / "state" / "history.jsonl").mkdir(parents=True)  # unreadable as a file
    path = tmp_path / "b.toml"
    path.write_text(f'state_dir = "{tmp_path / "state"}"\n[app]\nname = "web"\n'
                    'command = "app {port}"\n', encoding="utf-8")
    document = invoke("history", "--json", "-c", str(path))
    assert (document["exit_code"], document["kind"]) == (10, "environment")


@pytest.mark.parametrize(("raised", "code", "kind"), [
    (KeyboardInterrupt(), 130, "interrupted"), (RuntimeError("boom"), 1, "bug")])
def test_an_interrupt_or_a_bug_under_json_is_a_document(
        config_file: Path, monkeypatch: pytest.MonkeyPatch, raised: BaseException, code: int,
        kind: str) -> None:
    def history(*_args: object) -> None:
        raise raised

    monkeypatch.setattr("bluegreen_local.usecases.manage.history", history)
    result = CliRunner().invoke(app, ["history", "--json", "-c", str(config_file)])
    assert result.exit_code == code
    document = json.loads(result.stdout)
    assert (document["exit_code"], document["kind"]) == (code, kind)
    if kind == "bug":
        assert result.exception is raised, "a bug keeps its traceback"
        assert document["error"] == "unexpected RuntimeError: boom"
