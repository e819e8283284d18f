"""Preflight answers: who holds a port the deploy needs, and whether the nginx programs it
runs exist, said so an operator can act."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from bluegreen_local import nginx
from bluegreen_local.config.model import Config
from bluegreen_local.model.errors import NginxError, PortConflictError
from bluegreen_local.model.types import Mode, Slot
from bluegreen_local.runners.base import Runner
from bluegreen_local.runners.marks import Mark, port_marks
from bluegreen_local.store.state import State
from bluegreen_local.util import net
from bluegreen_local.util.which import SBIN_DIRS, find_program

NGINX_PROGRAM_FIX: Final = ("Install nginx (apt-get install nginx), or set the key to the "
                            "program's full path.")


def nginx_down(config: Config) -> str:
    """What to say when nginx is not running: the one message every command gives."""
    return f"nginx is not running (no live nginx master in {config.nginx.pid_file})"


def nginx_down_fix(config: Config) -> str:
    """The one command that brings nginx back, by mode: the managed nginx is ours to start
    (`up` does it, and so does a deploy); the system nginx belongs to the host's init."""
    if config.nginx.mode is Mode.MANAGED:
        return "run `bluegreen up`, which starts the managed nginx"
    return "start it with `systemctl start nginx` (or your init's equivalent), then run " \
           "the command again"


def require_nginx(config: Config) -> None:
    """System mode: the host's nginx must run before anything starts, or the new version
    would boot and pass its health check only for the switch to fail. (The managed nginx
    is started by the deploy itself.)"""
    if config.nginx.mode is Mode.SYSTEM and nginx.master_pid(config) is None:
        fix = nginx_down_fix(config)
        raise NginxError(failed=f"{nginx_down(config)}.", unchanged="Nothing was changed.",
                         next_step=f"{fix[0].upper()}{fix[1:]}.")


def check_listen_free(config: Config) -> None:
    """The managed nginx's public listener must be free before nginx starts on it."""
    port = int(config.nginx.listen.rpartition(":")[2])
    if not net.port_is_free(port):
        owners = net.describe_listeners(port)
        raise PortConflictError(
            f"nginx.listen {config.nginx.listen} is taken by {owners}, so the managed "
            "nginx could not start. Nothing was changed. Free the port or change "
            "nginx.listen.")


def nginx_programs(config: Config) -> dict[str, str]:
    """The programs this mode runs nginx with, by the key that sets each."""
    ngx = config.nginx
    if ngx.mode is Mode.MANAGED:
        return {"nginx.binary": ngx.binary}
    programs = {"nginx.test_command": ngx.test_command[0]}
    if ngx.reload_command:
        programs["nginx.reload_command"] = ngx.reload_command[0]
    return programs


def nginx_program_problems(config: Config) -> list[str]:
    """The nginx programs this mode runs that cannot be found, each naming its key."""
    problems = []
    for key, name in nginx_programs(config).items():
        found = find_program(name, extra_dirs=SBIN_DIRS)
        if found.path is None:
            problems.append(f"{key}: {found.problem}")
    return problems


def check_nginx_programs(config: Config) -> None:
    """Before anything starts: nginx (and the commands that test and reload it) exist."""
    if problems := nginx_program_problems(config):
        raise NginxError(failed="; ".join(problems), unchanged="Nothing was changed.",
                         next_step=NGINX_PROGRAM_FIX)


def port_owner_message(runner: Runner, st: State, target: Slot, port: int,
                       *, state_dir: Path) -> str:
    """Why the idle port is taken: by our own slot (app.ports changed), by another app of
    ours (both configs use the port), or by a stranger."""
    ours = runner.port_holder(port, st.instances)
    if ours is not None:
        return (f"port {port} ({target} slot) is held by our own {ours.slot} slot "
                f"({ours.version}, started on port {ours.port}); app.ports changed "
                "since it started. Nothing was changed. Run `bluegreen down`, then deploy.")
    marks = port_marks(port)
    if marks:
        return marked_owner_message(marks[0], target, port, state_dir)
    return (f"port {port} ({target} slot) is taken by {net.describe_listeners(port)}, "
            "which bluegreen did not start. Nothing was changed. Stop that process or "
            "choose other app.ports.")


def marked_owner_message(mark: Mark, target: Slot, port: int, state_dir: Path) -> str:
    """The port is held by a slot process of ours that this app's state does not claim."""
    if mark.state_dir == str(state_dir):
        return (f"port {port} ({target} slot) is held by pid {mark.pid}, a {mark.slot} slot "
                f"process of this app ({mark.version}) that its state does not record. "
                "Nothing was changed. Run `bluegreen recover`, then deploy.")
    return (f"port {port} ({target} slot) is taken by {mark.describe()}: both apps are "
            "configured with this port. Nothing was changed. Give one of them other app.ports "
            f"(`bluegreen check` warns about overlapping ports), or stop {mark.app} first.")
