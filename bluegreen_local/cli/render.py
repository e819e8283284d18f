"""Rendering for people: rich tables and progress lines on the terminal."""

from __future__ import annotations

import time
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from rich.console import Console

    from bluegreen_local.model.results import (
        CheckResult,
        DeployResult,
        DownResult,
        HistoryEvent,
        Plan,
        StatusResult,
    )
    from bluegreen_local.model.types import Phase


@cache
def out() -> Console:
    from rich.console import Console

    return Console(highlight=False)


@cache
def err() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


# -- renderers --------------------------------------------------------------------------------


def render_error(message: str) -> None:
    # Messages carry app output and paths; print them literally, never as rich markup.
    err().print("error: ", style="bold red", end="")
    err().print(message, markup=False, soft_wrap=True)


def render_progress(phase: Phase, seconds: float, detail: str) -> None:
    err().print(f"[green]✓[/] {phase.value:<9} {seconds * 1000:8.0f} ms  ", end="")
    err().print(detail, markup=False, soft_wrap=True)


def render_deploy(result: DeployResult) -> None:
    if not result.changed:
        out().print(f"unchanged: {result.message}", markup=False)
        return
    t = result.timings
    prev = f" (was {result.previous.version} on {result.previous.slot})" if result.previous else ""
    out().print(f"{result.action}: {result.message}{prev} in {t.total:.2f}s", markup=False)
    if result.drain_timed_out:
        err().print("warning: the drain timed out; requests still running on the old slot "
                  "were cut off when it stopped", markup=False)


def render_plan(plan: Plan) -> None:
    """deploy --dry-run: the decision, the preflight's answers, then the nginx diff."""
    say = out().print
    say(f"dry run: {plan.message}", markup=False, soft_wrap=True)
    if plan.recovery_pending:
        err().print("note: an interrupted run left its journal; the deploy would recover "
                    "first, which can change this plan", markup=False)
    if plan.idle_port is not None:
        say(f"  idle port: {plan.idle_port_detail}", markup=False, soft_wrap=True)
    say(f"  nginx: {'running' if plan.nginx_running else 'not running'}", markup=False)
    changed = [f for f in plan.files if f.diff]
    token = (f" ({plan.placeholder} stands for the random part the deploy picks)"
             if plan.placeholder else "")
    say(f"  nginx files at generation {plan.generation}{token}: {len(changed) or 'none'} of "
        f"{len(plan.files)} would change", markup=False, soft_wrap=True)
    for line in "".join(f.diff for f in changed).splitlines():
        say(line, style=_diff_style(line), markup=False, highlight=False, soft_wrap=True)
    say("nothing was changed", markup=False)


def _diff_style(line: str) -> str | None:
    if line.startswith(("---", "+++")):
        return "bold"
    return {"+": "green", "-": "red", "@": "cyan"}.get(line[:1])


def render_status(result: StatusResult) -> None:
    from rich.table import Table

    table = Table(title=f"bluegreen: {result.app}", show_header=True)
    for column in ("", "slot", "port", "version", "config", "pid", "health", "uptime", "memory"):
        # A narrow terminal folds a long version onto more lines; it never cuts one short.
        table.add_column(column, overflow="fold")
    for role, slot in (("live", result.live), ("idle", result.idle)):
        if slot is None:
            table.add_row(role, "-", "-", "-", "-", "-", "-", "-", "-")
            continue
        health = {True: "healthy", False: "UNHEALTHY", None: "-"}[slot.healthy]
        table.add_row(role, slot.slot, str(slot.port), slot.version or "-",
                      (slot.config_hash or "-")[:7],
                      str(slot.pid or "-") if slot.running else "stopped", health,
                      human_duration(slot.uptime) if slot.uptime is not None else "-",
                      f"{slot.memory_rss / 2**20:.1f} MiB" if slot.memory_rss else "-")
    out().print(table)
    for role, slot in (("live", result.live), ("idle", result.idle)):
        if slot is not None and slot.running and slot.runs:
            out().print(f"{role}: {slot.runs}", markup=False)
    if result.idle is not None and result.idle.until is not None and result.idle.role:
        until = time.strftime("%H:%M:%S", time.localtime(result.idle.until))
        out().print(f"idle slot is {result.idle.role} until {until}: `bluegreen rollback` "
                    "flips back to it, `bluegreen finalize` stops it", markup=False)
    ngx = result.nginx
    state = f"running (pid {ngx.master_pid})" if ngx.running else "not running"
    out().print(f"nginx ({ngx.mode}): {state}; generation {ngx.generation_served or '-'}",
              markup=False)
    if result.last_event:
        e = result.last_event
        out().print(f"last: {e.time} {e.action} {e.version or ''} {e.outcome} by {e.user}",
                  markup=False)
    if result.in_progress:
        err().print(f"in progress: {result.in_progress}", markup=False, soft_wrap=True)
    for problem in result.problems:
        # One line each, never wrapped: monitoring greps them, people copy the command.
        err().print(f"drift: {problem}", markup=False, soft_wrap=True)


def human_duration(seconds: float) -> str:
    """36m, 2h05m, 3d04h: the two largest units, as people read an uptime."""
    total = int(seconds)
    if total < 60:
        return f"{total}s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s" if minutes < 10 else f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def render_history(events: list[HistoryEvent]) -> None:
    from rich.table import Table

    table = Table(show_header=True)
    table.add_column("time", no_wrap=True, min_width=20)  # an ISO time, whole or not at all
    for column in ("action", "outcome", "version", "slot", "previous", "total", "user"):
        table.add_column(column, overflow="fold")
    for e in events:
        total = f"{e.timings.total:.2f}s" if e.timings else "-"
        prev = e.previous.version if e.previous else "-"
        table.add_row(e.time, e.action, e.outcome, e.version or "-", e.slot or "-", prev, total,
                      e.user)
    out().print(table)


def render_down(result: DownResult) -> None:
    if not result.changed:
        out().print("nothing was running", markup=False)
        return
    names = ", ".join(f"{r.version} ({r.slot})" for r in result.stopped_slots) or "no slots"
    extra = " and the managed nginx" if result.nginx_stopped else ""
    out().print(f"stopped {names}{extra}", markup=False)
    if result.message:
        out().print(result.message, markup=False, soft_wrap=True)


def render_check(result: CheckResult) -> None:
    for item in result.items:
        mark = "[red]FAIL[/]" if not item.ok else "[yellow]warn[/]" if item.warning else \
            "[green]ok[/]  "
        out().print(f"{mark} {item.name}: ", end="")
        out().print(item.detail, markup=False)
    if result.snippet:
        out().print("\nThe nginx site snippet (`bluegreen check --snippet` prints it alone):\n",
                    markup=False, soft_wrap=True)
        render_raw(result.snippet)


def render_raw(text: str) -> None:
    """Text to be pasted or redirected into a file: exactly as given. Rich would wrap it at the
    terminal's width (a wrapped nginx line is a broken one) and read `[...]` and `:name:`."""
    out().file.write(text)
    out().file.flush()


def render_recover(actions: tuple[str, ...]) -> None:
    if not actions:
        out().print("nothing to recover: state, nginx and the slots agree", markup=False)
    for action in actions:
        out().print(f"recovered: {action}", markup=False)


def render_init(path: Path) -> None:
    out().print(f"wrote {path}; edit it, then run `bluegreen check`", markup=False)
