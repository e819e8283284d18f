"""Versioned JSON state: what is live and the topology (each instance and its role), migrated
on read from older schemas."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

from bluegreen_local.model.errors import StateError
from bluegreen_local.model.types import (
    ContainerHandle,
    Handle,
    Instance,
    ProcessHandle,
    Release,
    Role,
    Route,
    RunnerKind,
    Slot,
)
from bluegreen_local.store.files import atomic_write, ensure_dir

# 3: `instances`, each with a runner handle and a role (the topology); 2 had `slots` of bare
# processes, and `live` as a release; 1 stored only the live slot's name.
SCHEMA: Final = 3
# Besides the live release (always routed), the roles that take traffic through nginx.
ROUTED: Final = frozenset({Role.STAGED, Role.CANARY})


@dataclass(frozen=True, slots=True)
class State:
    """What the tool knows between runs: what is live, and the instances it started.

    `live` outlives its instance (a crash, a reboot): it says what `up` must bring back.
    """

    generation: int = 0
    token: str = ""
    live: Release | None = None
    instances: tuple[Instance, ...] = field(default=())
    previous: Release | None = None

    def instance(self, slot: Slot) -> Instance | None:
        return next((i for i in self.instances if i.slot is slot), None)

    def with_instance(self, inst: Instance) -> State:
        others = tuple(i for i in self.instances if i.slot is not inst.slot)
        return replace(self, instances=(*others, inst))

    def without(self, slot: Slot) -> State:
        return replace(self, instances=tuple(i for i in self.instances if i.slot is not slot))

    @property
    def live_instance(self) -> Instance | None:
        found = self.instance(self.live.slot) if self.live is not None else None
        ok = found is not None and found.role is Role.LIVE and found.release == self.live
        return found if ok else None

    def make_live(self, inst: Instance) -> State:
        """`inst` takes the live role; whatever held it before is left unclaimed."""
        demoted = tuple(i.with_role(None) if i.role is Role.LIVE else i
                        for i in self.instances if i.slot is not inst.slot)
        return replace(self, live=inst.release,
                       instances=(*demoted, inst.with_role(Role.LIVE)))

    def routes(self) -> tuple[Route, ...]:
        """What nginx must route to: the live release (even while its instance is down: nginx
        keeps pointing at it until `up` brings it back), then every other instance whose role
        takes traffic."""
        if self.live is None:
            return ()
        others = tuple(Route(i.role, i.release, i.weight or 100) for i in self.instances
                       if i.role in ROUTED)
        return (Route(Role.LIVE, self.live), *others)

    def next_generation(self) -> tuple[int, str]:
        """A new generation number and a token unique even if state was reset."""
        number = self.generation + 1
        return number, f"{number}-{secrets.token_hex(4)}"


# -- state ------------------------------------------------------------------------------------


def load(state_dir: Path) -> State:
    """Read state.json; a missing file is an empty state."""
    path = state_dir / "state.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return State()
    except (OSError, ValueError) as exc:
        raise StateError(
            f"cannot read {path}: {exc}. Move it aside to start from an empty state; "
            "the running slots and nginx are not affected."
        ) from None
    return from_json(raw, path)


def save(state_dir: Path, state: State) -> None:
    ensure_dir(state_dir)
    atomic_write(state_dir / "state.json", json.dumps(to_json(state), indent=2) + "\n")


def to_json(state: State) -> dict[str, object]:
    """Field by field, so renaming a Python attribute can never silently change the file."""
    return {
        "schema": SCHEMA, "generation": state.generation, "token": state.token,
        "live": _release_json(state.live), "previous": _release_json(state.previous),
        "instances": [_instance_json(i) for i in state.instances],
    }


def _release_json(release: Release | None) -> dict[str, object] | None:
    if release is None:
        return None
    return {"slot": release.slot.value, "port": release.port, "version": release.version}


def _instance_json(inst: Instance) -> dict[str, object]:
    return {
        "slot": inst.slot.value, "port": inst.port, "version": inst.version,
        "role": inst.role.value if inst.role else None, "until": inst.until,
        "weight": inst.weight, "started_at": inst.started_at, "handle": _handle_json(inst.handle),
        "config_hash": inst.config_hash,
    }


def _handle_json(handle: Handle) -> dict[str, object]:
    if isinstance(handle, ContainerHandle):
        return {"runner": handle.runner.value, "container_id": handle.container_id,
                "name": handle.name, "pid": handle.pid}
    return {"runner": handle.runner.value, "pid": handle.pid, "create_time": handle.create_time}


def from_json(raw: object, path: Path) -> State:
    """Parse (and migrate, when older schemas exist) a state document."""
    if not isinstance(raw, dict) or not isinstance(raw.get("schema"), int):
        raise StateError(f"{path}: not a state document (expected a JSON object with a schema); "
                         "move it aside to start from an empty state")
    schema = raw["schema"]
    if schema > SCHEMA:
        raise StateError(
            f"{path}: state schema {schema!r} is newer than this bluegreen understands "
            f"({SCHEMA}). Upgrade bluegreen-local; nothing was changed."
        )
    try:
        if schema == 1:
            raw = _migrate_1(raw)
        if schema <= 2:
            raw = _migrate_2(raw)
        return State(
            generation=int(raw.get("generation", 0)),
            token=str(raw.get("token", "")),
            live=release_from_json(raw.get("live")),
            instances=tuple(_instance(i) for i in raw.get("instances", [])),
            previous=release_from_json(raw.get("previous")),
        )
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise StateError(
            f"{path}: malformed state ({exc!r}); move it aside to start over"
        ) from None


def _migrate_1(raw: dict[Any, Any]) -> dict[Any, Any]:
    """Schema 1 named the live slot; its release is that slot's recorded process, if any."""
    live = raw.get("live")
    slots = raw.get("slots")
    if live not in {s.value for s in Slot} or not isinstance(slots, list):
        return raw  # nothing to migrate, or malformed: the parser says so
    found = [p for p in slots if isinstance(p, dict) and p.get("slot") == live]
    release = {k: found[0].get(k) for k in ("slot", "port", "version")} if found else None
    return {**raw, "live": release}


def _migrate_2(raw: dict[Any, Any]) -> dict[Any, Any]:
    """Schema 2 kept bare processes in `slots`; the one matching `live` plays the live role,
    the others (a deploy that died half-way) are unclaimed, as schema 2 treated them."""
    slots = raw.get("slots", [])
    if not isinstance(slots, list):
        raise TypeError(f"slots must be a list, got {slots!r}")
    live = raw.get("live")
    instances = []
    for proc in slots:
        if not isinstance(proc, dict):
            raise TypeError(f"expected a slot object, got {proc!r}")
        release = {k: proc.get(k) for k in ("slot", "port", "version")}
        instances.append({
            **release, "started_at": proc.get("started_at"),
            "role": Role.LIVE.value if release == live else None,
            "handle": {"runner": RunnerKind.PROCESS.value, "pid": proc.get("pid"),
                       "create_time": proc.get("create_time")},
        })
    return {**{k: v for k, v in raw.items() if k != "slots"}, "instances": instances}


def _instance(raw: dict[str, object]) -> Instance:
    role, until, weight = raw.get("role"), raw.get("until"), raw.get("weight")
    return Instance(
        slot=Slot(str(raw["slot"])), port=int(str(raw["port"])), version=str(raw["version"]),
        started_at=float(str(raw["started_at"])), handle=_handle(raw["handle"]),
        role=Role(str(role)) if role is not None else None,
        until=float(str(until)) if until is not None else None,
        weight=int(str(weight)) if weight is not None else None,
        config_hash=str(digest) if (digest := raw.get("config_hash")) is not None else None,
    )


def _handle(raw: object) -> Handle:
    if not isinstance(raw, dict):
        raise TypeError(f"expected a handle object, got {raw!r}")
    kind = RunnerKind(str(raw.get("runner")))
    if kind is RunnerKind.PROCESS:
        return ProcessHandle(int(str(raw["pid"])), float(str(raw["create_time"])))
    return ContainerHandle(str(raw["container_id"]), str(raw["name"]), int(str(raw["pid"])))


def release_from_json(raw: object) -> Release | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ValueError(f"expected a release object, got {raw!r}")
    return Release(Slot(raw["slot"]), int(raw["port"]), str(raw["version"]))
