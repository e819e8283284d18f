"""Reconcile state with the world after a crash: nginx's served generation is the truth.

A deploy can die at any instant (SIGKILL, OOM, reboot). Whatever nginx serves is what clients
get, so it decides which slot is live. Every instance of ours that no role claims (a deploy's
half-started version, an old version whose warm deadline passed, a stray whose starter was
killed before recording it) is drained and stopped, and the files nginx reads are made to match
the topology again.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace

from bluegreen_local import nginx, store
from bluegreen_local.config.model import Config
from bluegreen_local.engine import reaper
from bluegreen_local.engine.drain import drain, wait_workers_gone
from bluegreen_local.engine.switch import switch
from bluegreen_local.model.results import HistoryEvent
from bluegreen_local.model.types import Instance, Release, Role
from bluegreen_local.nginx.control import Worker
from bluegreen_local.runners.base import Runner
from bluegreen_local.store import journal
from bluegreen_local.store.journal import Journal
from bluegreen_local.store.state import State
from bluegreen_local.util.clock import now_iso

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Recovery:
    """The reconciled state and what was done to get there (empty when nothing was)."""

    state: State
    actions: tuple[str, ...] = field(default=())
    interrupted: Journal | None = None


def recover(config: Config, runner: Runner) -> Recovery:
    """Make state, nginx and the slot processes agree again; the caller holds the lock."""
    killed = journal.read(config.state_dir)
    st = loaded = store.load(config.state_dir)
    actions: list[str] = []
    for inst in st.instances:
        if not runner.alive(inst):
            actions.append(f"{inst.version} on {inst.slot} ({inst.handle.describe()}) had exited")
            st = st.without(inst.slot)
    adopted = adopt_switch(config, st)
    if adopted.live != st.live and adopted.live is not None:
        actions.append(f"nginx serves {adopted.live.version} on {adopted.live.slot}: "
                       "recorded it as live")
    st = adopted
    suspects = {Worker(pid, ctime) for pid, ctime in killed.old_workers} if killed else set()
    st, repointed = _repoint(config, st)
    suspects |= repointed
    if repointed:
        actions.append(f"pointed nginx at the live slot again ({_live_text(st)})")
    leftovers = unclaimed(st, time.time())
    if killed is not None:  # only a killed run can leave instances it never recorded
        leftovers += runner.strays(st.instances)
    if repointed:
        # Done means every worker runs the rewritten files, not only the newest ones.
        wait_workers_gone(repointed, config.drain.timeout)
    for inst in leftovers:
        drain(suspects, inst.port, config.drain.timeout)
        runner.stop(inst, config.app.stop_timeout)
        st = st.without(inst.slot) if st.instance(inst.slot) == inst else st
        actions.append(f"stopped {inst.version} on {inst.slot} (port {inst.port}), left behind")
    if st != loaded:  # every deploy starts here: no fsynced write when all agrees
        store.save(config.state_dir, st)
    _finish(config, st, actions, killed)
    return Recovery(st, tuple(actions), killed)


def unclaimed(st: State, now: float) -> list[Instance]:
    """The instances no role keeps: no role, a deadline (`until`) passed, or a live role that
    state's live release no longer names."""
    live, late = st.live_instance, reaper.expired(st, now)  # any role's deadline, not only warm
    return [i for i in st.instances
            if not i.claimed(now) or i in late or (i.role is Role.LIVE and i != live)]


def adopt_switch(config: Config, st: State) -> State:
    """A run that died after nginx confirmed a switch but before it saved state left nginx on
    a newer generation than state.json: believe nginx."""
    rendered = nginx.read_rendered(config)
    if rendered is None or rendered.token == st.token:
        return st
    if nginx.served_generation(config.nginx.admin_socket) != rendered.token:
        return st  # the file is not what nginx serves (never loaded); _repoint fixes it
    inst = st.instance(rendered.live.slot)
    if inst is None or inst.release != rendered.live:
        return st
    log.warning("nginx serves %s (%s) but state said otherwise: adopting what nginx serves",
                rendered.live.slot, rendered.live.version)
    number = _generation_number(rendered.token, st.generation)
    previous = st.live if st.live and st.live != rendered.live else st.previous
    return replace(st.make_live(inst), generation=number, token=rendered.token,
                   previous=previous)


def _repoint(config: Config, st: State) -> tuple[State, set[Worker]]:
    """If nginx runs but its files or served generation disagree with state, switch again."""
    if st.live_instance is None or nginx.master_pid(config) is None:
        return st, set()
    served = nginx.served_generation(config.nginx.admin_socket)
    if served == st.token and nginx.files_current(config, st.routes(), st.token):
        return st, set()
    number, token = st.next_generation()
    done = switch(config, st.routes(), number, token, st.token)
    st = replace(st, generation=number, token=token)
    return st, set(done.old_workers)


def _finish(config: Config, st: State, actions: list[str], killed: Journal | None) -> None:
    if actions or killed is not None:
        what = f"interrupted {killed.action} of {killed.version} in phase {killed.phase}; " \
            if killed else ""
        live: Release | None = st.live
        store.append_history(config.state_dir, HistoryEvent(
            time=now_iso(), action="recover", outcome="ok", app=config.app.name,
            version=live.version if live else None, slot=live.slot if live else None,
            port=live.port if live else None, previous=None, user=store.current_user(),
            message=what + "; ".join(actions)))
    journal.clear(config.state_dir)


def _live_text(st: State) -> str:
    inst = st.live_instance
    return f"{inst.version} on {inst.slot}, port {inst.port}" if inst else "none"


def _generation_number(token: str, fallback: int) -> int:
    head = token.split("-", 1)[0]
    return max(int(head), fallback) if head.isdigit() else fallback
