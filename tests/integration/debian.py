"""A host nginx for system mode: one the test starts in a private prefix, and Debian's own
configuration (/etc/nginx, default site enabled) copied there, only its paths and port moved."""

from __future__ import annotations

import contextlib
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
from helpers import REQUIRE_ALL

ETC = Path("/etc/nginx")
DEFAULT_SITE = "sites-available/default"
# What an unprivileged nginx cannot use: Debian's compiled-in temp paths under /var/lib/nginx.
TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


@dataclass
class HostNginx:
    """An nginx the test starts with its own -p/-c/-e, standing in for the host's nginx."""

    binary: str
    prefix: Path
    conf: Path
    error_log: Path
    pid_file: Path

    @property
    def argv(self) -> list[str]:
        return [self.binary, "-p", f"{self.prefix}/", "-c", str(self.conf),
                "-e", str(self.error_log)]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self.argv, *args], capture_output=True, text=True, check=False)

    def pid(self) -> int | None:
        with contextlib.suppress(OSError, ValueError):
            return int(self.pid_file.read_text())
        return None

    def stop(self) -> None:
        """Kill the master and its workers, by pid, and wait for them."""
        if (pid := self.pid()) is None:
            return
        with contextlib.suppress(psutil.Error):
            proc = psutil.Process(pid)
            members = [proc, *proc.children()]
            for member in members:
                member.kill()
            psutil.wait_procs(members, timeout=5)


@dataclass
class DebianNginx(HostNginx):
    """The copy of /etc/nginx is `etc`; its default site listens on `port`."""

    port: int = 0

    @property
    def etc(self) -> Path:
        return self.prefix / "etc/nginx"


def copy_debian_nginx(binary: str, root: Path, port: int) -> DebianNginx:
    """Copy /etc/nginx under root, moving /etc/nginx, /var/log/nginx, /run and port 80."""
    if not (ETC / "nginx.conf").is_file() or not (ETC / DEFAULT_SITE).is_file():
        message = "Debian's nginx configuration is not in /etc/nginx (apt-get install nginx)"
        if REQUIRE_ALL:
            pytest.fail(f"BLUEGREEN_REQUIRE_ALL=1 and {message}", pytrace=False)
        pytest.skip(message)
    ngx = DebianNginx(binary, root, root / "etc/nginx/nginx.conf", root / "log/error.log",
                      root / "run/nginx.pid", port)
    shutil.copytree(ETC, ngx.etc, symlinks=True)
    (root / "log").mkdir()
    (root / "run").mkdir()
    for path in ngx.etc.rglob("*"):
        if path.is_symlink():
            _relink(path, ngx.etc)
        elif path.is_file():
            path.write_text(_moved(path.read_text(errors="replace"), ngx))
    _add_temp_paths(ngx)
    return ngx


def _relink(link: Path, etc: Path) -> None:
    target = str(link.readlink())
    if target.startswith(f"{ETC}/"):
        link.unlink()
        link.symlink_to(etc / target.removeprefix(f"{ETC}/"))


def _moved(text: str, ngx: DebianNginx) -> str:
    text = text.replace(f"{ETC}/", f"{ngx.etc}/").replace("/var/log/nginx/", f"{ngx.prefix}/log/")
    text = text.replace("/run/nginx.pid", str(ngx.pid_file))
    text = re.sub(r"^(\s*)listen 80 default_server;", rf"\1listen 127.0.0.1:{ngx.port} "
                  "default_server;", text, flags=re.MULTILINE)
    # The machine may have no IPv6; the copy serves on loopback only.
    return re.sub(r"^\s*listen \[::\]:80 default_server;\n", "", text, flags=re.MULTILINE)


def _add_temp_paths(ngx: DebianNginx) -> None:
    conf = ngx.etc / "nginx.conf"
    lines = "".join(f"\t{name}_temp_path {ngx.prefix}/tmp_{name};\n" for name in TEMP_PATHS)
    text, count = re.subn(r"^http \{\n", f"http {{\n{lines}", conf.read_text(), count=1,
                          flags=re.MULTILINE)
    assert count == 1, "Debian's nginx.conf has no http block?"
    conf.write_text(text)


def system_settings(root: Path, ngx: HostNginx, upstream_file: Path, *,
                    reload_timeout: str = "10s", reload_command: str | None = None) -> str:
    """The [nginx] table in system mode as an operator writes it (admin socket under root:
    the unix socket path has a 107-byte limit); without reload_command, bluegreen signals
    nginx."""
    argv = shlex.join(ngx.argv)
    reload = f"reload_command = {reload_command!r}\n" if reload_command else ""
    return f"""mode = "system"
upstream_file = "{upstream_file}"
admin_socket = "{root}/admin.sock"
test_command = "{argv} -t"
{reload}pid_file = "{ngx.pid_file}"
error_log = "{ngx.error_log}"
reload_timeout = "{reload_timeout}"
"""
