"""The bench's world: a private work directory, one shared nginx, and every process it starts."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import psutil

REPO: Final = Path(__file__).resolve().parent.parent
APP: Final = REPO / "bench" / "nodelay_app.py"
BLUEGREEN: Final = (sys.executable, "-m", "bluegreen_local")

NGINX_CONF: Final = """\
# The bench's stand-in for a host's system nginx: every app is one included file.
pid {prefix}/nginx.pid;
error_log {prefix}/error.log notice;
worker_processes 2;
worker_shutdown_timeout 30s;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/tmp_body;
    proxy_temp_path {prefix}/tmp_proxy;
    fastcgi_temp_path {prefix}/tmp_fcgi;
    uwsgi_temp_path {prefix}/tmp_uwsgi;
    scgi_temp_path {prefix}/tmp_scgi;
    include {prefix}/conf.d/*.conf;
}}
"""

# The public listener of one app. X-Bench-Id echoes the load client's request id, so the client
# pairs every answer (a 502 included) with the request that caused it. The other headers say
# where an answer came from, to attribute the slow ones: the upstream(s) nginx tried, the
# worker (old or new generation), the request's place on its client connection (1 = a new
# connection) and how long nginx waited for the app's response head (the only upstream time
# known when nginx sends its own head: $upstream_response_time is still "-" then).
SITE_CONF: Final = """\
server {{
    listen 127.0.0.1:{port} backlog=4096;
    location / {{
        proxy_pass http://{upstream};
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        add_header X-Bench-Id $arg_id always;
        add_header X-Bench-Upstream $upstream_addr always;
        add_header X-Bench-Worker $pid always;
        add_header X-Bench-Conn $connection_requests always;
        add_header X-Bench-Upstream-Time $upstream_header_time always;
    }}
}}
"""


def free_ports(count: int) -> list[int]:
    """Distinct loopback ports nobody listens on right now."""
    ports: set[int] = set()
    while len(ports) < count:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            ports.add(sock.getsockname()[1])
    return sorted(ports)


def poll(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(0.005)


def kill_tree(pid: int) -> None:
    """SIGKILL a process and its descendants (only ever pids the bench started)."""
    with contextlib.suppress(psutil.Error):
        root = psutil.Process(pid)
        members = [root, *root.children(recursive=True)]
        for member in members:
            with contextlib.suppress(psutil.Error):
                member.send_signal(signal.SIGKILL)
        psutil.wait_procs(members, timeout=5)


@dataclass
class Workspace:
    """A private directory; every process started under it is found again by its path."""

    root: Path
    pids: set[int] = field(default_factory=set)
    killed: list[str] = field(default_factory=list)  # what cleanup() had to stop

    @classmethod
    @contextlib.contextmanager
    def create(cls) -> Iterator[Workspace]:
        # Short: unix socket paths must stay under 107 bytes.
        ws = cls(Path(tempfile.mkdtemp(prefix="bgb-")))
        try:
            yield ws
        finally:
            ws.cleanup()

    def track(self, pid: int) -> None:
        self.pids.add(pid)

    def strays(self) -> list[psutil.Process]:
        """Live processes whose command line names the work directory: ours by construction."""
        me = os.getpid()
        found = []
        for proc in psutil.process_iter(["pid", "cmdline"]):
            cmdline = " ".join(proc.info["cmdline"] or [])
            if proc.info["pid"] != me and str(self.root) in cmdline:
                found.append(proc)
        return found

    def cleanup(self) -> None:
        for pid in sorted(self.pids):
            with contextlib.suppress(psutil.Error):
                self.killed.append(" ".join(psutil.Process(pid).cmdline()[:2]))
            kill_tree(pid)
        for proc in self.strays():
            with contextlib.suppress(psutil.Error):
                self.killed.append(" ".join(proc.cmdline()[:3]))
            kill_tree(proc.pid)
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class SharedNginx:
    """One nginx started with its own prefix, standing in for the host's (system mode)."""

    ws: Workspace
    binary: str

    @property
    def prefix(self) -> Path:
        return self.ws.root / "nginx"

    @property
    def conf_d(self) -> Path:
        return self.prefix / "conf.d"

    @property
    def argv(self) -> list[str]:
        return [self.binary, "-p", f"{self.prefix}/", "-c", str(self.prefix / "nginx.conf"),
                "-e", str(self.prefix / "error.log")]

    def start(self) -> None:
        self.conf_d.mkdir(parents=True, exist_ok=True)
        (self.prefix / "nginx.conf").write_text(NGINX_CONF.format(prefix=self.prefix))
        subprocess.run(self.argv, check=True)
        pid = self.master()
        if pid is None:
            raise RuntimeError("nginx did not start")
        self.ws.track(pid)

    def master(self) -> int | None:
        with contextlib.suppress(OSError, ValueError):
            return int((self.prefix / "nginx.pid").read_text())
        return None

    def workers(self) -> set[int]:
        pid = self.master()
        with contextlib.suppress(psutil.Error):
            return {child.pid for child in psutil.Process(pid).children()} if pid else set()
        return set()

    def reload(self) -> None:
        subprocess.run([*self.argv, "-s", "reload"], check=True, capture_output=True)

    def wait_workers_gone(self, workers: set[int], timeout: float = 30.0) -> None:
        poll(lambda: not any(psutil.pid_exists(p) and _not_zombie(p) for p in workers),
             timeout, "old nginx workers to exit")

    def add_site(self, name: str, port: int, upstream: str) -> None:
        (self.conf_d / f"site-{name}.conf").write_text(SITE_CONF.format(port=port,
                                                                        upstream=upstream))

    def system_settings(self, upstream_file: Path, admin_socket: Path) -> str:
        """The [nginx] table of a bluegreen.toml pointing at this nginx in system mode; it
        reloads by the default, a SIGHUP to the master in pid_file."""
        argv = shlex.join(self.argv)
        return (f'mode = "system"\nbinary = "{self.binary}"\n'
                f'upstream_file = "{upstream_file}"\nadmin_socket = "{admin_socket}"\n'
                f'test_command = "{argv} -t -q"\n'
                f'pid_file = "{self.prefix}/nginx.pid"\nerror_log = "{self.prefix}/error.log"\n')


def _not_zombie(pid: int) -> bool:
    with contextlib.suppress(psutil.Error):
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    return False


@dataclass
class App:
    """One bluegreen-managed app on the shared nginx: its config, site and CLI."""

    name: str
    ws: Workspace
    ngx: SharedNginx
    ports: tuple[int, int]
    listen: int
    health_interval: str = "100ms"

    @property
    def dir(self) -> Path:
        return self.ws.root / self.name

    @property
    def config(self) -> Path:
        return self.dir / "bluegreen.toml"

    @property
    def upstream(self) -> str:
        return f"bluegreen_{self.name.replace('-', '_')}"

    @property
    def upstream_file(self) -> Path:
        return self.ngx.conf_d / f"bluegreen-{self.name}.conf"

    def ready_file(self, version: str) -> Path:
        return self.dir / "ready" / version

    def install(self) -> None:
        """Write the config, a placeholder upstream and the site; nginx picks them up later."""
        (self.dir / "ready").mkdir(parents=True)
        self.upstream_file.write_text(f"upstream {self.upstream} {{ server 127.0.0.1:9; }}\n")
        self.ngx.add_site(self.name, self.listen, self.upstream)
        command = (f"{sys.executable} {APP} --port {{port}} "
                   f"--ready-file {self.dir}/ready/{{version}}")
        self.config.write_text(f"""\
state_dir = "{self.dir}/state"
[app]
name = "{self.name}"
command = "{command}"
ports = [{self.ports[0]}, {self.ports[1]}]
stop_timeout = "5s"
[health]
interval = "{self.health_interval}"
deadline = "20s"
[nginx]
{self.ngx.system_settings(self.upstream_file, self.dir / "admin.sock")}
[drain]
timeout = "10s"
""")

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([*BLUEGREEN, *args, "-c", str(self.config)], capture_output=True,
                              text=True, timeout=120, check=False)
        if check and done.returncode != 0:
            raise RuntimeError(f"bluegreen {' '.join(args)} exited {done.returncode}:\n"
                               f"{done.stderr}")
        return done

    def slot_pids(self) -> set[int]:
        import json

        with contextlib.suppress(OSError, ValueError):
            state = json.loads((self.dir / "state" / "state.json").read_text())
            return {int(i["handle"]["pid"]) for i in state.get("instances", [])}
        return set()

    def down(self) -> None:
        pids = self.slot_pids()
        self.cli("down", check=False)
        for pid in pids:
            kill_tree(pid)
