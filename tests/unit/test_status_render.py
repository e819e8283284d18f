"""How `status` and `history` read on a terminal: whole values, human uptimes, labels."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from bluegreen_local.cli import render
from bluegreen_local.model.results import HistoryEvent, NginxStatus, SlotStatus, StatusResult
from bluegreen_local.model.types import Role, Slot


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0s"), (59.9, "59s"), (61, "1m01s"), (599, "9m59s"), (2160, "36m"), (3600, "1h00m"),
    (7500, "2h05m"), (86400 * 3 + 3600 * 4 + 5, "3d04h"),
])
def test_human_duration(seconds: float, text: str) -> None:
    assert render.human_duration(seconds) == text


def _console(monkeypatch: pytest.MonkeyPatch, width: int) -> tuple[io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(render, "out", lambda: Console(file=out, width=width, highlight=False))
    monkeypatch.setattr(render, "err", lambda: Console(file=err, width=width, highlight=False))
    return out, err


LONG = "2026.12.02-release-candidate-7"


def _status(in_progress: str | None = None) -> StatusResult:
    live = SlotStatus(Slot.GREEN, 7002, LONG, 4242, True, True, 2160.0, 2**20, Role.LIVE)
    ngx = NginxStatus("managed", True, 99, "127.0.0.1:8080", "/s/up.conf", "3-ab", "3-ab")
    return StatusResult("web", live, None, ngx, None, ("the nginx files differ",),
                        in_progress, 5)


def test_status_at_a_narrow_terminal_keeps_whole_values(monkeypatch: pytest.MonkeyPatch) -> None:
    out, err = _console(monkeypatch, 60)
    render.render_status(_status(in_progress="a deploy of v3 (pid 7, since now) is in "
                                             "progress, phase health"))
    text = out.getvalue()
    assert "…" not in text
    # The version column, read down its cells, is the whole version.
    rows = text.split("│ idle")[0].splitlines()
    cells = [line.split("│")[4].strip() for line in rows if line.count("│") > 4]
    assert "".join(cells) == LONG, text
    assert "36m" in text and "2160s" not in text
    lines = err.getvalue().splitlines()
    assert lines[0].startswith("in progress: a deploy of v3")
    assert lines[1] == "drift: the nginx files differ"


def test_history_keeps_the_time_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    out, _ = _console(monkeypatch, 80)
    event = HistoryEvent(time="2026-12-02T19:27:29Z", action="deploy", outcome="ok", app="web",
                         version=LONG, slot=Slot.GREEN, port=7002, previous=None,
                         user="operator", message="", timings=None)
    render.render_history([event])
    assert "2026-12-02T19:27:29Z" in out.getvalue()
