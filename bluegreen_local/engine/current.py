"""Whether a deploy has anything to do: the one decision a deploy and its dry run share.

Each check only reads the world (process table, a health probe, the generation nginx serves,
the files on disk), so `deploy --dry-run` can ask it without changing anything.
"""

from __future__ import annotations

from bluegreen_local import nginx
from bluegreen_local.config.identity import start_digest
from bluegreen_local.config.model import Config
from bluegreen_local.model.types import Instance, Slot
from bluegreen_local.probes import health
from bluegreen_local.runners import slot_port
from bluegreen_local.runners.base import Runner
from bluegreen_local.store.state import State


def target_slot(st: State) -> Slot:
    """The slot a deploy starts the new version on: the one not live (blue at first)."""
    return st.live.slot.other if st.live else Slot.BLUE


def healthy(config: Config, runner: Runner, inst: Instance) -> bool:
    # Alive first: no probe for an instance that is gone.
    return runner.alive(inst) and health.judge(health.probe(inst.port, config.health),
                                               config.health).healthy


def serving(config: Config, runner: Runner, st: State, live: Instance) -> bool:
    """Live, healthy, served by nginx, and the config would render the same files."""
    if live.port != slot_port(config, live.slot):
        return False
    served = nginx.served_generation(config.nginx.admin_socket)
    return (served == st.token and nginx.files_current(config, st.routes(), st.token)
            and healthy(config, runner, live))


def already_live(config: Config, runner: Runner, st: State, version: str, *,
                 force: bool) -> Instance | None:
    """The live instance when deploying `version` would change nothing, else None."""
    live = st.live_instance
    if live is None or live.version != version or force or start_changed(config, live):
        return None
    return live if serving(config, runner, st, live) else None


def start_changed(config: Config, live: Instance) -> str:
    """Why the live version is a different release than the config's, or "" (the same, or
    started before digests were kept: no surprise redeploy after an upgrade)."""
    now = start_digest(config)
    if live.config_hash is None or live.config_hash == now:
        return ""
    return (f"its start configuration changed (app.command, app.env, app.workdir or the "
            f"runner: {live.config_hash[:7]} -> {now[:7]})")
