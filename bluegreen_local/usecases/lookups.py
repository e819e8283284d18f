"""`check`'s look-ups: can the programs a deploy runs be found (the app's command, nginx),
and does another config in the same folder use one of this app's ports."""

from __future__ import annotations

from pathlib import Path

from bluegreen_local.config.fields import placeholders
from bluegreen_local.config.loader import load
from bluegreen_local.config.model import Config
from bluegreen_local.engine.preflight import (
    NGINX_PROGRAM_FIX,
    nginx_program_problems,
    nginx_programs,
)
from bluegreen_local.model.errors import BlueGreenError
from bluegreen_local.model.results import CheckItem
from bluegreen_local.model.types import Mode, RunnerKind, Slot
from bluegreen_local.runners import slot_port
from bluegreen_local.runners.launch import Launch, expand


def lookup_items(config: Config) -> list[CheckItem]:
    """The command's and nginx's items, and a warning when another config shares a port."""
    items = [command_item(config)] if config.app.runner is RunnerKind.PROCESS else []
    items.append(nginx_programs_item(config))
    overlap = ports_item(config)
    return [*items, *([overlap] if overlap else [])]


def nginx_programs_item(config: Config) -> CheckItem:
    problems = nginx_program_problems(config)
    if problems:
        return CheckItem("nginx programs", False, "; ".join(problems) + ". "
                         + NGINX_PROGRAM_FIX)
    found = ", ".join(dict.fromkeys(nginx_programs(config).values()))
    return CheckItem("nginx programs", True, f"found {found}")


def command_item(config: Config) -> CheckItem:
    """argv[0] resolved as a deploy will resolve it, for each slot."""
    app = config.app
    templates = (app.command[0], app.workdir or "", dict(app.env).get("PATH", ""))
    if any("version" in placeholders(t) for t in templates):
        return CheckItem("command", True, f"{app.command[0]} depends on {{version}}: it is "
                         "looked up when a deploy starts it")
    results = {_resolved(expand(app, config.state_dir, slot, slot_port(config, slot), "check"))
               for slot in Slot}
    problems = sorted(text for ok, text in results if not ok)
    if problems:
        return CheckItem("command", False, "; ".join(problems))
    return CheckItem("command", True, f"{app.command[0]} is " + ", ".join(
        sorted(text for _, text in results)))


def _resolved(launch: Launch) -> tuple[bool, str]:
    if launch.workdir is not None and not Path(launch.workdir).is_dir():
        return False, f"app.workdir {launch.workdir} does not exist"
    program = launch.program()
    if program.path is None:
        return False, (f"app.command: {program.problem}; give its full path or set PATH "
                       "in app.env")
    return True, str(program.path)


def ports_item(config: Config) -> CheckItem | None:
    """A warning (not a failure) for each other *.toml here whose app uses one of our ports:
    the two apps would refuse each other's deploys."""
    mine = _ports(config)
    clashes = []
    for path in sorted(config.path.parent.glob("*.toml")):
        other = _sibling(path, config.path)
        if other and (shared := sorted(mine & _ports(other))):
            clashes.append(f"{path.name} (app {other.app.name}) also uses port "
                           + ", ".join(map(str, shared)))
    if not clashes:
        return None
    return CheckItem("ports", True, "; ".join(clashes) + ". Only one app can listen on a "
                     "port: give each its own app.ports (and nginx.listen)", warning=True)


def _sibling(path: Path, own: Path) -> Config | None:
    """Another bluegreen config, or None: this one, a pyproject.toml, or a file whose own
    `check` reports its problems."""
    if path.resolve() == own:
        return None
    try:
        return load(path)
    except BlueGreenError:
        return None


def _ports(config: Config) -> set[int]:
    """The ports the app's slots and (in managed mode) its own nginx listen on."""
    ports = set(config.app.ports)
    if config.nginx.mode is Mode.MANAGED:
        ports.add(int(config.nginx.listen.rpartition(":")[2]))
    return ports
