"""Before the new version starts: can the host hold it beside the live one? The need is the
slot's memory limit if set, else the live slot's resident memory times the headroom; it must
fit in MemAvailable."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from bluegreen_local.config.model import Config
from bluegreen_local.model.errors import CapacityError
from bluegreen_local.model.results import CheckItem
from bluegreen_local.model.types import Instance
from bluegreen_local.runners.base import Runner
from bluegreen_local.util.sizes import show_size

log = logging.getLogger(__name__)
MEMINFO: Final = Path("/proc/meminfo")


@dataclass(frozen=True, slots=True)
class Capacity:
    """The figure a deploy is judged by (and `check` reports)."""

    need: int | None  # bytes; None: nothing to go by (no limit, no live slot)
    available: int | None  # MemAvailable in bytes; None: unreadable
    basis: str  # where the need comes from, in words

    @property
    def fits(self) -> bool:
        return self.need is None or self.available is None or self.need <= self.available


def mem_available(text: str) -> int | None:
    """MemAvailable from /proc/meminfo's text, in bytes."""
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        if name == "MemAvailable":
            fields = rest.split()
            if fields and fields[0].isdigit():
                return int(fields[0]) * 1024  # the kernel writes kB and means KiB
    return None


def need_of(config: Config, live_memory: int | None) -> tuple[int | None, str]:
    if config.resources.memory is not None:
        return config.resources.memory, "resources.memory"
    if live_memory is None:
        return None, "no live slot to measure"
    headroom = config.capacity.headroom
    return round(live_memory * headroom), f"the live slot's memory x {headroom:g}"


def measure(config: Config, runner: Runner, live: Instance | None) -> Capacity:
    live_memory = runner.memory(live) if live is not None and config.resources.memory is None \
        else None
    need, basis = need_of(config, live_memory)
    try:
        available = mem_available(MEMINFO.read_text())
    except OSError:
        available = None
    return Capacity(need, available, basis)


def check(config: Config, runner: Runner, live: Instance | None, version: str) -> None:
    """Refuse (exit 9) when the new version cannot fit beside the live one."""
    if not config.capacity.check:
        return
    found = measure(config, runner, live)
    log.info("capacity: need %s (%s), %s available", found.need, found.basis, found.available)
    if found.fits or found.need is None or found.available is None:
        return
    beside = f" beside {live.version}" if live is not None else ""
    raise CapacityError(
        failed=f"not enough memory to run {version}{beside}: need {show_size(found.need)} "
               f"({found.basis}), {show_size(found.available)} available.",
        unchanged="Nothing was started and nothing was changed.",
        next_step="Free memory, lower resources.memory, or pass --skip-capacity-check "
                  "(or set capacity.check = false) to deploy anyway.")


def check_item(config: Config, runner: Runner, live: Instance | None) -> CheckItem:
    """`bluegreen check`'s line: the same figure a deploy is judged by."""
    if not config.capacity.check:
        return CheckItem("capacity", True, "not checked (capacity.check = false)")
    found = measure(config, runner, live)
    if found.need is None or found.available is None:
        why = found.basis if found.need is None else "MemAvailable unreadable"
        return CheckItem("capacity", True, f"nothing to check yet ({why})")
    detail = (f"a second slot needs {show_size(found.need)} ({found.basis}), "
              f"{show_size(found.available)} available")
    return CheckItem("capacity", found.fits, detail if found.fits
                     else f"{detail}: a deploy would refuse (exit 9)")
