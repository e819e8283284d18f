"""The three contenders: `bluegreen deploy`, the naive playbook switch, and a bare reload."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Protocol

import psutil

from bench.env import APP, App, SharedNginx, Workspace, get, poll

NAIVE_SCRIPT: Final = Path(__file__).resolve().parent / "naive_switch.sh"


@dataclass
class Deploy:
    """One deploy (or reload) under load, in wall-clock epoch seconds."""

    contender: str
    mode: str
    began: float  # the command started
    ended: float  # the command returned
    window: tuple[float, float]  # traffic moves: from "new side healthy" until old workers exit
    timings: dict[str, float] = field(default_factory=dict)  # bluegreen --json timings
    ended_at: dict[str, float] = field(default_factory=dict)  # bluegreen: each phase's end
    ready_at: float | None = None  # when the new app could first answer (its --ready-file)
    reload_confirm: float | None = None  # control: reload until the new generation is served
    # control: the same reload, until a socket only the new generation listens on answers
    reload_confirm_own: float | None = None


class Contender(Protocol):
    name: str

    def prepare(self) -> None: ...

    def deploy(self, mode: str, index: int) -> Deploy: ...

    def teardown(self) -> None: ...


def _read_ready(path: Path) -> float | None:
    with contextlib.suppress(OSError, ValueError):
        return float(path.read_text())
    return None


@dataclass
class BlueGreen:
    """`bluegreen deploy VERSION --json`, the CLI as a user runs it, in system mode."""

    app: App
    name: str = "bluegreen deploy"

    def prepare(self) -> None:
        self.app.cli("deploy", "v0", "--json")

    def deploy(self, mode: str, index: int) -> Deploy:
        version = f"v{mode}-{index}"
        began = time.time()
        done = self.app.cli("deploy", version, "--json")
        ended = time.time()
        data = json.loads(done.stdout)
        ended_at = {k: float(v) for k, v in data.get("ended_at", {}).items()}
        timings = {k: float(v) for k, v in data["timings"].items()}
        # The switch window: from the health verdict to the old slot's stop (drain included).
        window = (ended_at.get("health", began), ended_at.get("stop", ended))
        return Deploy(self.name, mode, began, ended, window, timings, ended_at,
                      _read_ready(self.app.ready_file(version)))

    def teardown(self) -> None:
        self.app.down()


@dataclass
class Naive:
    """bench/naive_switch.sh: start, wait until it answers, rewrite, reload, kill the old one."""

    app: App
    ngx: SharedNginx
    ws: Workspace
    name: str = "naive switch"
    live_pid: int = 0
    live_port: int = 0

    def _env(self) -> dict[str, str]:
        return {**os.environ, "APP_CMD": f"{sys.executable} {APP}",
                "UPSTREAM": self.app.upstream, "UPSTREAM_FILE": str(self.app.upstream_file),
                "NGINX": shlex.join(self.ngx.argv)}

    def _switch(self, version: str) -> tuple[dict[str, float], int]:
        port = self.app.ports[1] if self.live_port == self.app.ports[0] else self.app.ports[0]
        ready = self.app.ready_file(version)
        env = self._env()
        env["APP_CMD"] += f" --ready-file {ready}"
        done = subprocess.run(["sh", str(NAIVE_SCRIPT), str(port), str(self.live_pid), version],
                              env=env, capture_output=True, text=True, timeout=60, check=True)
        marks = dict(line.split(" ", 1) for line in done.stdout.splitlines())
        pid = int(marks.pop("pid"))
        self.ws.track(pid)
        old = self.live_pid
        self.live_pid, self.live_port = pid, port
        _wait_exit(old)  # the next switch needs its port back (not part of the timing)
        return {k: float(v) for k, v in marks.items()}, port

    def prepare(self) -> None:
        self._switch("n0")

    def deploy(self, mode: str, index: int) -> Deploy:
        version = f"n{mode}-{index}"
        before = self.ngx.workers()
        began = time.time()
        marks, _ = self._switch(version)
        ended = time.time()
        self.ngx.wait_workers_gone(before)  # old workers proxy to the killed port until then
        return Deploy(self.name, mode, began, ended, (marks["healthy"], time.time()),
                      ready_at=_read_ready(self.app.ready_file(version)))

    def teardown(self) -> None:
        if self.live_pid:
            with contextlib.suppress(psutil.Error):
                psutil.Process(self.live_pid).terminate()
            _wait_exit(self.live_pid)
            self.live_pid = 0


@dataclass
class ReloadOnly:
    """The control: `nginx -s reload` with nothing switched, confirmed by a generation probe."""

    ngx: SharedNginx
    ws: Workspace
    name: str = "reload only (control)"
    generation: int = 0

    @property
    def socket(self) -> Path:
        return self.ws.root / "probe.sock"

    @property
    def conf(self) -> Path:
        return self.ngx.conf_d / "bench-probe.conf"

    def own_socket(self, generation: int) -> Path:
        return self.ws.root / f"probe.sock.{generation}"

    def _write(self) -> None:
        # Like bluegreen's upstream file: a shared socket plus one of this generation's own.
        self.generation += 1
        self.conf.write_text(
            f'map "" $bench_probe_generation {{ default "{self.generation}"; }}\n'
            f"server {{ listen unix:{self.socket}; listen unix:{self.own_socket(self.generation)}; "
            f'location / {{ return 200 "$bench_probe_generation\\n"; }} }}\n')

    def prepare(self) -> None:
        self._write()
        self.ngx.reload()
        poll(lambda: served(self.socket) == str(self.generation), 10, "the probe generation")

    def reload_and_confirm(self) -> tuple[float, float, float]:
        """Reload, then wait until nginx serves the new generation, first on its own socket
        (old workers never listen there), then on the shared one (where old workers keep
        answering for a while): (began, confirmed on its own, confirmed on the shared)."""
        self._write()
        want = str(self.generation)
        own = self.own_socket(self.generation)
        began = time.time()
        self.ngx.reload()
        while served(own) != want:
            time.sleep(0.001)
        confirmed_own = time.time()
        while served(self.socket) != want:
            time.sleep(0.001)
        return began, confirmed_own, time.time()

    def deploy(self, mode: str, index: int) -> Deploy:
        before = self.ngx.workers()
        began, own, shared = self.reload_and_confirm()
        self.ngx.wait_workers_gone(before)
        return Deploy(self.name, mode, began, shared, (began, time.time()),
                      reload_confirm=shared - began, reload_confirm_own=own - began)

    def teardown(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.conf.unlink()
        self.ngx.reload()


def served(path: Path) -> str | None:
    """The body nginx serves on a unix socket, stripped; None when it does not answer 200."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(1.0)
            sock.connect(str(path))
            sock.sendall(b"GET / HTTP/1.0\r\nHost: probe\r\n\r\n")
            raw = b""
            while chunk := sock.recv(4096):
                raw += chunk
    except OSError:
        return None
    head, _, body = raw.partition(b"\r\n\r\n")
    return body.decode().strip() if b" 200 " in head.split(b"\r\n", 1)[0] + b" " else None


def _wait_exit(pid: int) -> None:
    if not pid:
        return

    def gone() -> bool:
        with contextlib.suppress(psutil.Error):
            return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        return True

    poll(gone, 30, f"pid {pid} to exit")


def serving(port: int) -> bool:
    return get(port) == 200
