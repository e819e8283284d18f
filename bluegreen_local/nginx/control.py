"""The running nginx: its master and workers, `nginx -t`, reload, and its error log."""

from __future__ import annotations

import contextlib
import os
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import psutil

from bluegreen_local.config.model import Config
from bluegreen_local.model.errors import CommandError, NginxError
from bluegreen_local.model.types import Mode
from bluegreen_local.util import proc, pstree

ADMIN_PATH: Final = "/generation"
BAD_LOG_LEVELS: Final = ("[emerg]", "[alert]")
EMERG_GRACE: Final = 3.0
CONFIRM_POLL: Final = 0.001


@dataclass(frozen=True, slots=True)
class Worker:
    """An nginx child process; pid plus create time survive pid reuse."""

    pid: int
    create_time: float




def main_conf(config: Config) -> Path:
    return config.nginx_prefix / "conf/nginx.conf"


def managed_argv(config: Config, *extra: str, conf: Path | None = None) -> list[str]:
    """The managed nginx command line; -p/-c/-e must be the same on every call (only a test
    of staged files names another -c `conf`)."""
    prefix = config.nginx_prefix
    return [config.nginx.binary, "-p", f"{prefix}/", "-c", str(conf or main_conf(config)),
            "-e", str(prefix / "logs/error.log"), *extra]


def test_argv(config: Config, conf: Path | None = None) -> list[str]:
    if config.nginx.mode is Mode.MANAGED:
        return managed_argv(config, "-t", "-q", conf=conf)
    if conf is not None:
        # test_command reads the operator's whole config: it cannot be pointed at a copy.
        raise ValueError("only the managed nginx can test another main file")
    return list(config.nginx.test_command)


def test(config: Config, conf: Path | None = None) -> None:
    """Run `nginx -t` (managed mode: on main file `conf`, if given, instead of the installed
    one); raise NginxError with nginx's own words if the config is refused."""
    try:
        result = proc.run(test_argv(config, conf), timeout=30, check=False)
    except CommandError as exc:
        raise NginxError(f"cannot test the nginx configuration: {exc}") from None
    if not result.ok:
        raise NginxError(f"nginx refused the configuration:\n{_indent(result.output)}")




# -- the running master ------------------------------------------------------------------------


def master_pid(config: Config) -> int | None:
    """The nginx master's pid from its pid file, if that process is alive and is ours.

    A pid file outlives a crash and its pid can be reused, even by another nginx: in managed
    mode the master's command line must name our own config file.
    """
    try:
        pid = int(config.nginx.pid_file.read_text().strip())
        process = psutil.Process(pid)
        alive = process.status() != psutil.STATUS_ZOMBIE and "nginx" in process.name()
        if alive and config.nginx.mode is Mode.MANAGED:
            alive = str(main_conf(config)) in " ".join(process.cmdline())
    except (OSError, ValueError, psutil.Error):
        return None
    return pid if alive else None


def workers(master: int) -> set[Worker]:
    found = set()
    for pid in pstree.child_pids(master):
        with contextlib.suppress(psutil.Error):
            found.add(Worker(pid, psutil.Process(pid).create_time()))
    return found


def worker_alive(worker: Worker) -> bool:
    try:
        process = psutil.Process(worker.pid)
        return (abs(process.create_time() - worker.create_time) < 0.05
                and process.status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


def signal_reload(config: Config, master: int) -> None:
    """Ask nginx to reload: SIGHUP to the master (what `nginx -s reload` sends), or the
    configured system reload_command."""
    command = config.nginx.reload_command
    if config.nginx.mode is Mode.MANAGED or command is None:
        try:
            os.kill(master, signal.SIGHUP)
        except OSError as exc:
            hint = ("" if config.nginx.mode is Mode.MANAGED else
                    "; set nginx.reload_command (e.g. \"sudo -n systemctl reload nginx\") if "
                    "this user may not signal it")
            raise NginxError(f"cannot signal nginx master {master}: {exc.strerror}{hint}"
                             ) from None
        return
    try:
        proc.run(command, timeout=30)
    except CommandError as exc:
        raise NginxError(f"the reload command failed: {exc}\n{_indent(exc.output)}") from None




def log_size(config: Config) -> int:
    path = config.nginx.error_log
    try:
        return path.stat().st_size if path else 0
    except OSError:
        return 0


def new_log_errors(config: Config, offset: int) -> list[str]:
    """[emerg]/[alert] lines nginx wrote to its error log after `offset`."""
    path = config.nginx.error_log
    if path is None:
        return []
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            text = handle.read(1 << 20).decode("utf-8", errors="replace")
    except OSError:
        return []
    return [line for line in text.splitlines() if any(b in line for b in BAD_LOG_LEVELS)]




def _indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.strip().splitlines())
