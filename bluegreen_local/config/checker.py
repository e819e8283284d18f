"""The section reader the loader uses: every getter, by concern, on one table of the file."""

from __future__ import annotations

from bluegreen_local.config.commands import Commands
from bluegreen_local.config.network import Network
from bluegreen_local.config.probe import Probe


class Section(Commands, Network, Probe):
    """One table of bluegreen.toml. Use it as a context manager: on leaving, every key that
    was not read is reported as unknown, so a key is declared once, where it is read.

    `Section(problems, base, raw)` is the whole document; `section.table("app")` a table in it.
    """

    __slots__ = ()
