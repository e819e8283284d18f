"""Preflight answers: who holds a port the deploy needs, said so an operator can act."""

from __future__ import annotations

from bluegreen_local.config.model import Config
from bluegreen_local.model.errors import PortConflictError
from bluegreen_local.model.types import Slot
from bluegreen_local.runners.base import Runner
from bluegreen_local.store.state import State
from bluegreen_local.util import net


def check_listen_free(config: Config) -> None:
    """The managed nginx's public listener must be free before nginx starts on it."""
    port = int(config.nginx.listen.rpartition(":")[2])
    if not net.port_is_free(port):
        owners = net.describe_listeners(port)
        raise PortConflictError(
            f"nginx.listen {config.nginx.listen} is taken by {owners}, so the managed "
            "nginx could not start. Nothing was changed. Free the port or change "
            "nginx.listen.")


def port_owner_message(runner: Runner, st: State, target: Slot, port: int) -> str:
    """Why the idle port is taken: by our own slot (app.ports changed) or by a stranger."""
    ours = runner.port_holder(port, st.instances)
    if ours is not None:
        return (f"port {port} ({target} slot) is held by our own {ours.slot} slot "
                f"({ours.version}, started on port {ours.port}); app.ports changed "
                "since it started. Nothing was changed. Run `bluegreen down`, then deploy.")
    return (f"port {port} ({target} slot) is taken by {net.describe_listeners(port)}, "
            "which bluegreen did not start. Nothing was changed. Stop that process or "
            "choose other app.ports.")
