"""The detached reaper: one process per app that outlives the CLI and its SSH session, waits
for the earliest `until` deadline in state and then runs `reap` (taking the lock like any
command). It is started after a command leaves a deadline behind and replaces the one before.

It re-reads state every second rather than sleeping to the deadline: a finalize, a rollback or
`down` can remove the deadline, and then the reaper exits instead of lingering. Killed mid-way,
it leaves nothing half-done that the next command's recovery would not finish.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Final

import psutil

from bluegreen_local import store
from bluegreen_local.config.model import Config
from bluegreen_local.model.errors import BlueGreenError
from bluegreen_local.store.files import atomic_write, ensure_dir

log = logging.getLogger(__name__)

PIDFILE: Final = "reaper.pid"
LOG: Final = "logs/reaper.log"
TICK: Final = 1.0  # how often the reaper re-reads state
LOCK_WAIT: Final = 60.0  # a deploy holding the lock is waited for, not raced


def running(state_dir: Path) -> psutil.Process | None:
    """The app's reaper, found by pid plus create time (pids are reused)."""
    try:
        pid, ctime = (state_dir / PIDFILE).read_text().split()
        proc = psutil.Process(int(pid))
        if abs(proc.create_time() - float(ctime)) < 0.01 and proc.status() != "zombie":
            return proc
    except (OSError, ValueError, psutil.Error):
        pass
    return None


def spawn(config: Config) -> int | None:
    """Start the reaper when state carries a deadline (replacing a running one); its pid."""
    if _next_deadline(config.state_dir) is None:
        return None
    if (old := running(config.state_dir)) is not None:
        with contextlib.suppress(psutil.Error):
            old.terminate()
    ensure_dir(config.state_dir / "logs")
    with (config.state_dir / LOG).open("ab") as out:
        # A new session: ending the caller's session or process group does not reach it.
        proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module, no shell
            [sys.executable, "-m", "bluegreen_local.engine.reaperd", str(config.path)],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd="/",
            start_new_session=True, close_fds=True)
    with contextlib.suppress(psutil.Error):
        ctime = psutil.Process(proc.pid).create_time()
        atomic_write(config.state_dir / PIDFILE, f"{proc.pid} {ctime}\n")
    return proc.pid


def _next_deadline(state_dir: Path) -> float | None:
    try:
        st = store.load(state_dir)
    except BlueGreenError:
        return None
    return min((i.until for i in st.instances if i.until is not None), default=None)


def serve(config: Config) -> None:
    """Wait for deadlines and reap them until none is left (or the state dir is gone)."""
    from bluegreen_local.usecases import lifecycle  # the use case, as `bluegreen reap` runs it

    while (deadline := _next_deadline(config.state_dir)) is not None:
        if time.time() < deadline:
            time.sleep(min(TICK, max(deadline - time.time(), 0.01)))
            continue
        try:
            done = lifecycle.reap(config, wait_lock=LOCK_WAIT)
            log.warning("reaped: %s", "; ".join(done.actions) or "nothing due")
        except BlueGreenError as exc:  # e.g. still locked: try again on the next tick
            log.warning("reap failed, retrying: %s", exc)
            time.sleep(TICK)


def main(argv: list[str]) -> int:
    from bluegreen_local import config as configs

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s reaper: %(message)s")
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # belt and braces besides the new session
    cfg = configs.load(Path(argv[0]))
    try:
        serve(cfg)
    finally:
        me = running(cfg.state_dir)
        if me is not None and me.pid == os.getpid():
            with contextlib.suppress(OSError):
                (cfg.state_dir / PIDFILE).unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
