"""Integration-test support: the Project under test, HTTP helpers, polling."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from helpers import REPO, free_port, poll

APP = REPO / "examples" / "app.py"


def free_ports(count: int) -> list[int]:
    ports: set[int] = set()
    while len(ports) < count:
        ports.add(free_port())
    return sorted(ports)


def get(port: int, path: str = "/", timeout: float = 5.0) -> tuple[int, str]:
    """One GET on a fresh connection: (status, body); (0, error) when it fails."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Connection": "close"})
        response = conn.getresponse()
        return response.status, response.read().decode()
    except OSError as exc:
        return 0, str(exc)
    finally:
        conn.close()


@dataclass
class Project:
    """A bluegreen.toml in a private directory, and the CLI run against it."""

    root: Path
    nginx_bin: str
    ports: tuple[int, int]
    listen_port: int
    extra_app_args: str = ""
    settings: dict[str, str] = field(default_factory=dict)

    @property
    def config(self) -> Path:
        return self.root / "bluegreen.toml"

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    @property
    def upstream_file(self) -> Path:
        return self.state_dir / "nginx/conf/upstream.conf"

    def write_config(self, *, app_args: str = "", deadline: str = "15s", nginx: str = "",
                     drain: str = 'timeout = "10s"', stop_timeout: str = "5s") -> None:
        """(Re)write the config; the next command reads it, like an operator's edit."""
        text = f"""
state_dir = "{self.state_dir}"
[app]
name = "itest"
command = "{sys.executable} {APP} --port {{port}} {app_args}"
ports = [{self.ports[0]}, {self.ports[1]}]
stop_timeout = "{stop_timeout}"
[health]
interval = "50ms"
deadline = "{deadline}"
[nginx]
binary = "{self.nginx_bin}"
listen = "127.0.0.1:{self.listen_port}"
{nginx}
[drain]
{drain}
"""
        self.config.write_text(text)

    def cli(self, *args: str, timeout: float = 120.0,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """Run `bluegreen ARGS -c CONFIG` as an operator would."""
        return subprocess.run(self.argv(*args), capture_output=True, text=True,
                              timeout=timeout, check=False, env=env)

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "bluegreen_local", *args, "-c", str(self.config)]

    def cli_json(self, *args: str) -> dict[str, object]:
        done = self.cli(*args, "--json")
        assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stderr}"
        data: dict[str, object] = json.loads(done.stdout)
        return data

    def state(self) -> dict[str, object]:
        data: dict[str, object] = json.loads((self.state_dir / "state.json").read_text())
        return data

    def slot_pids(self) -> set[int]:
        """Pids of the slot processes the state records (their process handles)."""
        instances = self.state().get("instances", [])
        assert isinstance(instances, list)
        return {int(i["handle"]["pid"]) for i in instances}

    def nginx_pid(self) -> int | None:
        try:
            return int((self.state_dir / "nginx/nginx.pid").read_text())
        except (OSError, ValueError):
            return None

    def serve(self, path: str = "/") -> tuple[int, str]:
        return get(self.listen_port, path)


def our_processes(state_dir: Path) -> set[int]:
    """Every live process started for the app with this state dir (the runner marks them)."""
    found = set()
    for proc in psutil.process_iter(["pid", "environ", "status"]):
        env = proc.info.get("environ") or {}
        alive = proc.info.get("status") != psutil.STATUS_ZOMBIE
        if env.get("BLUEGREEN_STATE_DIR") == str(state_dir) and alive:
            found.add(proc.info["pid"])
    return found


def established(port: int) -> int:
    """ESTABLISHED connections to the port (e.g. nginx -> an app slot), counted by `ss`."""
    done = subprocess.run(["ss", "-Htn", "state", "established", "dport", "=", f":{port}"],
                          capture_output=True, text=True, check=True)
    return len(done.stdout.splitlines())


def simulate_reboot(project: Project) -> None:
    """Every slot process and the managed nginx die at once, without the CLI."""
    master = project.nginx_pid()
    assert master is not None
    victims = [psutil.Process(p) for p in [*project.slot_pids(), master]]
    victims += [c for v in victims for c in v.children(recursive=True)]
    for victim in victims:
        with contextlib.suppress(psutil.NoSuchProcess):
            victim.kill()
    poll(lambda: project.serve()[0] == 0, what="everything to be down")
