"""state.json, history.jsonl, atomic writes and the per-app lock."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bluegreen_local import store as state
from bluegreen_local.model.errors import ExitCode, LockedError, StateError
from bluegreen_local.model.results import HistoryEvent, Timings
from bluegreen_local.model.types import Instance, ProcessHandle, Release, Role, Route, Slot
from bluegreen_local.store.state import State

BLUE = Instance(Slot.BLUE, 7001, "v1", started_at=1700000001.5,
                handle=ProcessHandle(pid=4242, create_time=1700000000.25))
GREEN = Instance(Slot.GREEN, 7002, "v2", started_at=1700000100.75,
                 handle=ProcessHandle(pid=4343, create_time=1700000100.0), role=Role.LIVE)
FULL = State(generation=7, token="7-abcdef01", live=GREEN.release, instances=(BLUE, GREEN),
             previous=Release(Slot.BLUE, 7001, "v1"))
ONE = State(generation=1, token="1-00000000", live=BLUE.release,
            instances=(BLUE.with_role(Role.LIVE),))
WARM = State(generation=9, token="9-00000001", live=GREEN.release,
             instances=(BLUE.with_role(Role.WARM, until=1700000400.5), GREEN))


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- round trip ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [State(), FULL, ONE, WARM],
)
def test_round_trip(tmp_path: Path, value: State) -> None:
    state.save(tmp_path / "st", value)
    assert state.load(tmp_path / "st") == value


def test_saved_document_is_versioned_json(tmp_path: Path) -> None:
    state.save(tmp_path, FULL)
    raw = json.loads((tmp_path / "state.json").read_text(encoding="utf-8"))
    assert raw["schema"] == state.SCHEMA
    assert raw["live"] == {"slot": "green", "port": 7002, "version": "v2"}
    assert raw["instances"][0] == {
        "slot": "blue", "port": 7001, "version": "v1", "role": None, "until": None,
        "weight": None, "started_at": 1700000001.5,
        "handle": {"runner": "process", "pid": 4242, "create_time": 1700000000.25},
        "config_hash": None}
    assert raw["instances"][1]["role"] == "live"
    assert set(raw) == {"schema", "generation", "token", "live", "previous", "instances"}
    assert raw["previous"] == {"slot": "blue", "port": 7001, "version": "v1"}


def test_save_is_private(tmp_path: Path) -> None:
    state_dir = tmp_path / "deep" / "state"
    state.save(state_dir, FULL)
    assert mode_of(state_dir / "state.json") == 0o600
    assert mode_of(state_dir) == 0o700


def test_save_replaces_and_leaves_no_temp_files(tmp_path: Path) -> None:
    state.save(tmp_path, FULL)
    state.save(tmp_path, State(generation=8))
    assert state.load(tmp_path) == State(generation=8)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


def test_missing_file_is_empty_state(tmp_path: Path) -> None:
    assert state.load(tmp_path / "never-created") == State()


def test_state_helpers() -> None:
    assert FULL.live_instance == GREEN
    assert FULL.instance(Slot.BLUE) == BLUE
    assert FULL.without(Slot.BLUE).instances == (GREEN,)
    moved = Instance(Slot.BLUE, 7001, "v3", 3.0, ProcessHandle(1, 2.0))
    assert FULL.with_instance(moved).instances == (GREEN, moved)
    number, token = FULL.next_generation()
    assert number == 8
    assert token.startswith("8-")
    assert len(token) == len("8-") + 8
    assert State().live_instance is None


# -- bad files ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    ["{not json", '{"schema": 1, "generation": 3, "tok', "", "\xff", '{"schema": 1, "live": "red"}',
     '{"schema": 1, "slots": [{"slot": "blue"}]}', '{"schema": 1, "slots": 5}'],
    ids=["corrupt", "truncated", "empty", "binary", "bad-slot", "incomplete-slot", "slots-int"],
)
def test_unreadable_state_says_move_it_aside(tmp_path: Path, content: str) -> None:
    (tmp_path / "state.json").write_text(content, encoding="latin-1")
    with pytest.raises(StateError) as caught:
        state.load(tmp_path)
    message = str(caught.value)
    assert "move it aside" in message.lower()
    assert str(tmp_path / "state.json") in message


def test_json_list_says_move_it_aside(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(StateError, match=r"(?i)move it aside"):
        state.load(tmp_path)


def test_json_list_is_refused(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(StateError, match="not a state document"):
        state.load(tmp_path)


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text(
        json.dumps({"schema": state.SCHEMA + 1, "generation": 99}), encoding="utf-8")
    with pytest.raises(StateError) as caught:
        state.load(tmp_path)
    assert "newer" in str(caught.value)
    assert "Upgrade bluegreen-local" in str(caught.value)
    assert caught.value.exit_code == ExitCode.ENVIRONMENT  # not a bug: exit 10


def test_missing_schema_is_not_called_newer(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text('{"generation": 3}', encoding="utf-8")
    with pytest.raises(StateError) as caught:
        state.load(tmp_path)
    assert "newer" not in str(caught.value)


# -- history ------------------------------------------------------------------------------------


def event(
    number: int,
    *,
    action: str = "deploy",
    versioned: bool = True,
    previous: Release | None = None,
    timings: Timings | None = None,
    message: str = "",
) -> HistoryEvent:
    slot = Slot.BLUE if number % 2 else Slot.GREEN
    return HistoryEvent(
        time=f"2024-01-0{number}T10:00:00+0000", action=action, outcome="ok", app="web",
        version=f"v{number}" if versioned else None, slot=slot if versioned else None,
        port=(7001 if slot is Slot.BLUE else 7002) if versioned else None,
        previous=previous, user="ops", message=message, timings=timings,
    )


def test_history_round_trip_newest_first(tmp_path: Path) -> None:
    events = [
        event(1),
        event(2, previous=Release(Slot.BLUE, 7001, "v1"),
              timings=Timings(start=0.1, healthy=0.2, switch=0.3, drain=0.4, stop=0.5, total=1.5)),
        event(3, action="down", versioned=False, message="stopped 2 slot(s)"),
    ]
    for item in events:
        state.append_history(tmp_path / "st", item)
    assert state.read_history(tmp_path / "st") == events[::-1]
    assert state.read_history(tmp_path / "st", limit=2) == [events[2], events[1]]
    assert state.read_history(tmp_path / "st", limit=1) == [events[2]]
    assert mode_of(tmp_path / "st" / "history.jsonl") == 0o600


def test_history_is_one_json_line_per_event(tmp_path: Path) -> None:
    state.append_history(tmp_path, event(1))
    state.append_history(tmp_path, event(2))
    lines = (tmp_path / "history.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["version"] for line in lines] == ["v1", "v2"]


def test_history_skips_garbage_lines(tmp_path: Path) -> None:
    state.append_history(tmp_path, event(1))
    with (tmp_path / "history.jsonl").open("a", encoding="utf-8") as handle:
        handle.write("{truncated\n[]\nnull\n\n")
        handle.write('{"time": "t", "action": "deploy"}\n')
        handle.write('{"time": "t", "action": "a", "outcome": "ok", "app": "web", '
                     '"slot": "purple"}\n')
        handle.write('{"time": "t", "action": "a", "outcome": "ok", "app": "web", '
                     '"timings": {"bogus": 1}}\n')
    state.append_history(tmp_path, event(2))
    assert state.read_history(tmp_path) == [event(2), event(1)]
    assert state.read_history(tmp_path, limit=2) == [event(2), event(1)]


def test_history_missing_file_is_empty(tmp_path: Path) -> None:
    assert state.read_history(tmp_path / "nothing") == []


# -- atomic writes ------------------------------------------------------------------------------


def test_atomic_write_failure_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "upstream.conf"
    target.write_text("old\n", encoding="utf-8")

    def broken_fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr("bluegreen_local.store.files.os.fsync", broken_fsync)
    with pytest.raises(StateError) as caught:
        state.atomic_write(target, "new\n")
    assert "left unchanged" in str(caught.value)
    assert str(target) in str(caught.value)
    assert target.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["upstream.conf"]


def test_atomic_write_into_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(StateError, match="left unchanged"):
        state.atomic_write(tmp_path / "missing" / "f", "x")


def test_atomic_write_sets_the_mode(tmp_path: Path) -> None:
    target = tmp_path / "nginx.conf"
    state.atomic_write(target, "a\n", mode=0o644)
    assert mode_of(target) == 0o644
    assert target.read_text(encoding="utf-8") == "a\n"


# -- the lock -----------------------------------------------------------------------------------

# Tries the lock from another process; prints the outcome as one JSON line.
LOCK_SNIPPET = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from bluegreen_local import store as state
    from bluegreen_local.model.errors import LockedError
    start = time.monotonic()
    try:
        with state.locked(Path(sys.argv[1]), wait=float(sys.argv[2])):
            outcome = {"acquired": True}
    except LockedError as exc:
        outcome = {"acquired": False, "message": str(exc), "code": int(exc.exit_code)}
    outcome["waited"] = time.monotonic() - start
    print(json.dumps(outcome))
""")


def try_lock(state_dir: Path, wait: float) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", LOCK_SNIPPET, str(state_dir), str(wait)],
        capture_output=True, text=True, timeout=60, check=True,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_lock_refuses_a_second_holder_and_names_us(tmp_path: Path) -> None:
    with state.locked(tmp_path):
        other = try_lock(tmp_path, 0)
    assert other["acquired"] is False
    assert other["code"] == 6
    message = str(other["message"])
    assert f"pid {os.getpid()}" in message
    assert str(tmp_path / "lock") in message
    assert "Nothing was changed" in message


def test_lock_waits_before_failing(tmp_path: Path) -> None:
    with state.locked(tmp_path):
        other = try_lock(tmp_path, 0.3)
    assert other["acquired"] is False
    waited = other["waited"]
    assert isinstance(waited, float)
    assert waited >= 0.3


def test_lock_is_released_on_exit(tmp_path: Path) -> None:
    with state.locked(tmp_path):
        pass
    assert try_lock(tmp_path, 0)["acquired"] is True
    with state.locked(tmp_path):  # and we can take it back after the other process
        pass


def test_lock_is_released_when_the_block_raises(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), state.locked(tmp_path):
        raise RuntimeError("boom")
    assert try_lock(tmp_path, 0)["acquired"] is True


def test_lock_dies_with_its_process(tmp_path: Path) -> None:
    holder = (
        "import os, sys\nfrom pathlib import Path\nfrom bluegreen_local import store as state\n"
        "with state.locked(Path(sys.argv[1])):\n    os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", holder, str(tmp_path)], timeout=60, check=True)
    with state.locked(tmp_path):
        holder_info = json.loads((tmp_path / "lock").read_text(encoding="utf-8"))
    assert holder_info["pid"] == os.getpid()


def test_lock_records_holder(tmp_path: Path) -> None:
    with state.locked(tmp_path / "st"):
        info = json.loads((tmp_path / "st" / "lock").read_text(encoding="utf-8"))
        assert info["pid"] == os.getpid()
        assert set(info) == {"pid", "command", "started"}
    assert mode_of(tmp_path / "st" / "lock") == 0o600


def test_lock_in_the_same_process_is_also_exclusive(tmp_path: Path) -> None:
    with state.locked(tmp_path), pytest.raises(LockedError), state.locked(tmp_path):
        pass


def test_schema_1_state_is_migrated(tmp_path: Path) -> None:
    """Schema 1 stored the live slot's name; its release comes from the recorded process."""
    (tmp_path / "state.json").write_text(json.dumps({
        "schema": 1, "generation": 2, "token": "2-33f867c8", "live": "green",
        "slots": [{"slot": "green", "port": 7002, "version": "v2", "pid": 7171,
                   "create_time": 1.5, "started_at": 2.5}],
        "previous": {"slot": "blue", "port": 7001, "version": "v1"}}), encoding="utf-8")
    loaded = state.load(tmp_path)
    assert loaded.live == Release(Slot.GREEN, 7002, "v2")
    assert loaded.live_instance is not None and loaded.live_instance.handle.pid == 7171
    state.save(tmp_path, loaded)
    assert json.loads((tmp_path / "state.json").read_text())["schema"] == state.SCHEMA == 3


def test_schema_2_state_is_migrated_to_the_topology(tmp_path: Path) -> None:
    """Schema 2 kept bare processes: the live one takes the live role, a half-deployed one
    none (recovery stops it, as it did under schema 2), and each gets a process handle."""
    (tmp_path / "state.json").write_text(json.dumps({
        "schema": 2, "generation": 5, "token": "5-0a0b0c0d",
        "live": {"slot": "blue", "port": 7001, "version": "v1"},
        "slots": [{"slot": "blue", "port": 7001, "version": "v1", "pid": 11, "create_time": 1.5,
                   "started_at": 2.5},
                  {"slot": "green", "port": 7002, "version": "v2", "pid": 12,
                   "create_time": 3.5, "started_at": 4.5}],
        "previous": None}), encoding="utf-8")
    loaded = state.load(tmp_path)
    assert loaded == State(
        generation=5, token="5-0a0b0c0d", live=Release(Slot.BLUE, 7001, "v1"), previous=None,
        instances=(Instance(Slot.BLUE, 7001, "v1", 2.5, ProcessHandle(11, 1.5), Role.LIVE),
                   Instance(Slot.GREEN, 7002, "v2", 4.5, ProcessHandle(12, 3.5))))
    state.save(tmp_path, loaded)
    raw = json.loads((tmp_path / "state.json").read_text())
    assert raw["schema"] == 3 and "slots" not in raw
    assert state.load(tmp_path) == loaded


@pytest.mark.parametrize("instances", [
    '[{"slot": "blue", "port": 1, "version": "v", "started_at": 1, "handle": {"runner": "x"}}]',
    '[{"slot": "blue", "port": 1, "version": "v", "started_at": 1, "handle": 5}]',
    '[{"slot": "blue", "port": 1, "version": "v", "started_at": 1, "role": "boss",'
    ' "handle": {"runner": "process", "pid": 1, "create_time": 1}}]',
    "[5]",
], ids=["unknown-runner", "handle-int", "unknown-role", "instance-int"])
def test_malformed_topology_says_move_it_aside(tmp_path: Path, instances: str) -> None:
    (tmp_path / "state.json").write_text(f'{{"schema": 3, "instances": {instances}}}')
    with pytest.raises(StateError, match="move it aside"):
        state.load(tmp_path)


def test_make_live_moves_the_live_role() -> None:
    st = ONE.with_instance(GREEN.with_role(None))
    moved = st.make_live(GREEN)
    assert moved.live == GREEN.release
    assert moved.live_instance == GREEN.with_role(Role.LIVE)
    assert moved.instance(Slot.BLUE) == BLUE.with_role(None)


def test_routes_come_from_the_live_release_and_routed_roles() -> None:
    staged = BLUE.with_role(Role.STAGED)
    canary = BLUE.with_role(Role.CANARY, weight=10)
    assert FULL.routes() == (Route(Role.LIVE, GREEN.release),)
    assert WARM.routes() == (Route(Role.LIVE, GREEN.release),), "a warm slot takes no traffic"
    assert FULL.with_instance(staged).routes() == (
        Route(Role.LIVE, GREEN.release), Route(Role.STAGED, BLUE.release))
    assert FULL.with_instance(canary).routes()[1] == Route(Role.CANARY, BLUE.release, 10)
    # The live release is routed even while its instance is down (until `up` restarts it).
    assert FULL.without(Slot.GREEN).routes() == (Route(Role.LIVE, GREEN.release),)
    assert State().routes() == ()


def test_roles_claim_instances_until_their_deadline() -> None:
    warm = BLUE.with_role(Role.WARM, until=100.0)
    assert warm.claimed(99.0) and not warm.claimed(100.0)
    assert not BLUE.claimed(0.0), "no role: unclaimed"
    assert all(BLUE.with_role(r).claimed(1e12) for r in (Role.LIVE, Role.STAGED, Role.CANARY))
    assert not BLUE.with_role(Role.WARM).claimed(0.0), "warm without a deadline is expired"
