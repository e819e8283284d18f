"""The process runner: each slot is a detached OS process tree tracked by pid + create time."""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import signal
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Final

import psutil

from bluegreen_local.config.model import AppConfig
from bluegreen_local.model.errors import RunnerError
from bluegreen_local.model.types import Handle, Instance, ProcessHandle, RunnerKind, Slot
from bluegreen_local.runners.launch import MARKER, Launch, expand
from bluegreen_local.store.files import ensure_dir
from bluegreen_local.util import net, pstree
from bluegreen_local.util.clock import now_iso

log = logging.getLogger(__name__)

# psutil rounds create_time; two readings of one process can differ by a few milliseconds.
CREATE_TIME_SLACK: Final = 0.05
LOG_TAIL_BYTES: Final = 64 * 1024


class ProcessRunner:
    """Runs `app.command` per slot with stdout/stderr to state_dir/logs/<slot>.log."""

    kind = RunnerKind.PROCESS

    def __init__(self, app: AppConfig, state_dir: Path) -> None:
        self.app = app
        self.state_dir = state_dir
        self.log_dir = state_dir / "logs"
        # Children we spawned in this CLI run, kept so poll() reaps them if they exit early.
        self._children: dict[int, subprocess.Popen[bytes]] = {}
        self._log_start: dict[Slot, int] = {}

    def start(self, slot: Slot, port: int, version: str) -> Instance:
        launch = expand(self.app, self.state_dir, slot, port, version)
        if launch.workdir is not None and not Path(launch.workdir).is_dir():
            raise RunnerError(f"app.workdir {launch.workdir} does not exist; nothing was started")
        program = launch.program()
        if program.path is None:
            # Said before anything runs: a missing binary is a bad app.command, not a crash.
            raise RunnerError(f"cannot start {slot}: app.command: {program.problem}. Nothing "
                              "was started; fix app.command (or PATH in app.env) and deploy "
                              "again.")
        child = self._spawn(slot, launch, program.path, version)
        self._children[child.pid] = child
        handle = ProcessHandle(child.pid, _create_time(child.pid))
        return Instance(slot, port, version, time.time(), handle)

    def _spawn(self, slot: Slot, launch: Launch, program: Path,
               version: str) -> subprocess.Popen[bytes]:
        argv = launch.argv
        log_file = self._open_log(slot)
        header = f"=== {now_iso()} bluegreen: starting {version} in {slot}: {shlex.join(argv)}\n"
        os.write(log_file, header.encode("utf-8", errors="replace"))
        try:
            # Not proc.run: the app must outlive us. A new session detaches it from our
            # terminal, so it survives the CLI exiting and the SSH session closing.
            # `executable` is the file found above; argv[0] stays as the operator wrote it.
            return subprocess.Popen(  # noqa: S603 - argv from validated config, no shell
                list(argv), executable=program, cwd=launch.workdir, env=dict(launch.env),
                stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
                start_new_session=True, close_fds=True,
            )
        except OSError as exc:
            raise RunnerError(
                f"cannot start {slot} ({shlex.join(argv)}): {exc.strerror}. Nothing was changed; "
                "check app.command and app.workdir."
            ) from None
        finally:
            os.close(log_file)

    def _open_log(self, slot: Slot) -> int:
        ensure_dir(self.log_dir)
        path = self.log_path(slot)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as exc:
            raise RunnerError(f"cannot open log {path}: {exc.strerror}") from None
        self._log_start[slot] = os.fstat(fd).st_size
        return fd

    def log_path(self, slot: Slot) -> Path:
        return self.log_dir / f"{slot}.log"

    def alive(self, inst: Instance) -> bool:
        child = self._children.get(inst.handle.pid)
        if child is not None and child.poll() is not None:
            return False
        found = _process(inst.handle)
        if found is None:
            return False
        with contextlib.suppress(psutil.Error):
            return found.status() != psutil.STATUS_ZOMBIE
        return False

    def port_holder(self, port: int, instances: Iterable[Instance]) -> Instance | None:
        """Ours if a listener's pid is an instance's process or one of its descendants (a
        gunicorn-style master's workers listen too)."""
        listeners = net.listener_pids(port)
        if not listeners:
            return None
        for inst in instances:
            root = _process(inst.handle)
            if root is None:
                continue
            with contextlib.suppress(psutil.Error):
                family = {root.pid, *(c.pid for c in root.children(recursive=True))}
                if family & set(listeners):
                    return inst
        return None

    def stop(self, inst: Instance, grace: float) -> None:
        root = _process(inst.handle)
        if root is None:
            return
        members = pstree.tree(root)
        log.info("stopping %s (pid %d, %d processes)", inst.slot, root.pid, len(members))
        self._poll(root.pid)
        # TERM to the root only: a gunicorn-style master stops its own workers gracefully.
        pstree.send(root, signal.SIGTERM)
        alive = pstree.wait_gone(members, grace)
        if alive:
            log.warning("%s: %d processes ignored SIGTERM for %gs; killing them",
                        inst.slot, len(alive), grace)
            for leftover in alive:
                pstree.send(leftover, signal.SIGKILL)
            pstree.wait_gone(alive, 5.0)
        self._reap(root.pid)

    def _poll(self, pid: int) -> None:
        child = self._children.get(pid)
        if child is not None:
            child.poll()

    def _reap(self, pid: int) -> None:
        child = self._children.pop(pid, None)
        if child is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=1)

    def log_tail(self, slot: Slot, lines: int = 20) -> str:
        path = self.log_path(slot)
        start = self._log_start.get(slot, 0)
        try:
            with path.open("rb") as handle:
                size = handle.seek(0, os.SEEK_END)
                handle.seek(max(start, size - LOG_TAIL_BYTES))
                data = handle.read()
        except OSError:
            return ""
        text = data.decode("utf-8", errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def strays(self, known: Iterable[Instance]) -> list[Instance]:
        """Slot processes of this app that state does not record (their starter was killed)."""
        known_pids = {inst.handle.pid for inst in known}
        found = []
        for candidate in psutil.process_iter(["pid", "ppid", "environ", "create_time"]):
            env = candidate.info.get("environ") or {}
            if env.get(MARKER) != str(self.state_dir) or candidate.pid in known_pids:
                continue
            with contextlib.suppress(psutil.Error):
                parent_env = psutil.Process(candidate.info["ppid"]).environ()
                if parent_env.get(MARKER) == str(self.state_dir):
                    continue  # a child of a slot process: stopped with its tree
            with contextlib.suppress(KeyError, ValueError):
                handle = ProcessHandle(candidate.pid, candidate.info["create_time"])
                found.append(Instance(Slot(env["BLUEGREEN_SLOT"]), int(env["PORT"]),
                                      env["BLUEGREEN_VERSION"], 0.0, handle))
        return found

    def memory(self, inst: Instance) -> int | None:
        root = _process(inst.handle)
        if root is None:
            return None
        total = 0
        for member in pstree.tree(root):
            with contextlib.suppress(psutil.Error):
                total += member.memory_info().rss
        return total


def _create_time(pid: int) -> float:
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return 0.0  # it already exited; alive() will say so


def _process(handle: Handle) -> psutil.Process | None:
    """The live process with this pid and create time, or None (gone, or pid reused)."""
    if not isinstance(handle, ProcessHandle):  # pragma: no cover - one runner kind per app
        return None
    try:
        found = psutil.Process(handle.pid)
        same = abs(found.create_time() - handle.create_time) <= CREATE_TIME_SLACK
    except psutil.Error:
        return None
    return found if same else None
