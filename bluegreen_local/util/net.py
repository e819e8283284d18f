"""Loopback TCP facts: is a port free, who listens on it, how many connections reach it."""

from __future__ import annotations

import contextlib
import errno
import re
import shutil
import socket
from typing import Final

import psutil

from bluegreen_local.model.errors import CommandError
from bluegreen_local.util import proc

_PID_RE: Final = re.compile(r"pid=(\d+)")


def port_is_free(port: int) -> bool:
    """True if nothing listens on the port (bound on 127.0.0.1 or a wildcard address)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # SO_REUSEADDR lets us bind over TIME-WAIT leftovers; a real listener still conflicts.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def listener_pids(port: int) -> set[int]:
    """Pids holding a listening socket on the port (empty when the kernel hides them)."""
    if shutil.which("ss"):
        with contextlib.suppress(CommandError):
            out = proc.run(["ss", "-Htlnp", "sport", "=", f":{port}"], timeout=5).output
            return parse_ss_pids(out)
    return {
        c.pid for c in psutil.net_connections("tcp")
        if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port and c.pid
    }


def parse_ss_pids(output: str) -> set[int]:
    """Pids from `ss -p` output, e.g. users:(("python3",pid=123,fd=3))."""
    return {int(m) for m in _PID_RE.findall(output)}


def describe_listeners(port: int) -> str:
    """'pid 123 (python3 -m http.server 7002)' for each process listening on the port."""
    parts = []
    for pid in sorted(listener_pids(port)):
        try:
            cmd = " ".join(psutil.Process(pid).cmdline())[:80]
        except psutil.Error:
            cmd = "?"
        parts.append(f"pid {pid} ({cmd})")
    return ", ".join(parts) or "a process we cannot see"


def established_to(port: int) -> int:
    """How many ESTABLISHED TCP connections go to local port `port` (kernel-filtered)."""
    if shutil.which("ss"):
        # netlink + kernel filter: ~10 ms even with tens of thousands of TIME-WAIT sockets
        with contextlib.suppress(CommandError):
            out = proc.run(["ss", "-Htn", "state", "established", "dport", "=", f":{port}"],
                           timeout=5).output
            return count_lines(out)
    return sum(
        1 for c in psutil.net_connections("tcp")
        if c.status == psutil.CONN_ESTABLISHED and c.raddr and c.raddr.port == port
    )


def count_lines(output: str) -> int:
    return sum(1 for line in output.splitlines() if line.strip())
