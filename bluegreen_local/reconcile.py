"""Reconcile recorded state with the world: live processes and what nginx really serves."""

from __future__ import annotations

import logging
from dataclasses import replace

from bluegreen_local import nginx
from bluegreen_local.config import Config
from bluegreen_local.runners import Runner
from bluegreen_local.state import State

log = logging.getLogger(__name__)


def reconcile(config: Config, st: State, runner: Runner) -> State:
    """Forget slot processes that are gone; adopt a switch nginx made but state missed."""
    for proc in st.slots:
        if not runner.alive(proc):
            log.warning("%s slot process %d (%s) is gone", proc.slot, proc.pid, proc.version)
            st = st.without(proc.slot)
    return adopt_switch(config, st)


def adopt_switch(config: Config, st: State) -> State:
    """A run that died after nginx confirmed a switch but before it saved state left the
    upstream file and nginx on a newer generation than state.json: believe nginx."""
    rendered = nginx.read_rendered(config)
    if rendered is None or rendered.token == st.token:
        return st
    if nginx.served_generation(config.nginx.admin_socket) != rendered.token:
        return st  # the file is not what nginx serves; the next switch rewrites both
    proc = st.process(rendered.live.slot)
    if proc is None or proc.release != rendered.live:
        return st
    log.warning("nginx serves %s (%s) but state said %s: adopting what nginx serves",
                rendered.live.slot, rendered.live.version, st.live)
    old = st.live_process
    number = _generation_number(rendered.token, st.generation)
    previous = old.release if old and old.slot is not proc.slot else st.previous
    return replace(st, generation=number, token=rendered.token, live=proc.release,
                   previous=previous)


def _generation_number(token: str, fallback: int) -> int:
    head = token.split("-", 1)[0]
    return max(int(head), fallback) if head.isdigit() else fallback
