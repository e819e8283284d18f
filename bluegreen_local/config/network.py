"""Getters for ports and the listen address, which reach nginx's configuration."""

from __future__ import annotations

import ipaddress
import os

from bluegreen_local.config.fields import PORT_TEXT_RE, short
from bluegreen_local.config.reader import MISSING
from bluegreen_local.config.scalars import Scalars


class Network(Scalars):
    """Ports are integers in range (below 1024 only for root); addresses are IP literals."""

    __slots__ = ()

    def port_pair(self, name: str, default: tuple[int, int],
                  *, doc: str) -> tuple[int, int] | None:
        self.document(name, doc, list(default))
        value = self.value(name)
        if value is MISSING:
            return default
        if not isinstance(value, list) or len(value) != 2:
            self.problem(name, "must be a list of two ports [blue, green], like [7001, 7002]")
            return None
        blue = self._port(f"{name}[0]", value[0])
        green = self._port(f"{name}[1]", value[1])
        if blue is None or green is None:
            return None
        if blue == green:
            self.problem(name, f"the two ports must differ, got {blue} twice")
            return None
        return blue, green

    def listen(self, name: str, default: str, *, doc: str) -> str | None:
        """HOST:PORT (or a bare port, on 127.0.0.1), normalised to HOST:PORT."""
        value = self.string(name, default, doc=doc)
        if value is None:
            return None
        host, sep, port_text = value.rpartition(":")
        if not sep:
            host, port_text = "127.0.0.1", value
        if not _is_listen_host(host) or not PORT_TEXT_RE.fullmatch(port_text):
            self.problem(name, "must be HOST:PORT with an IP address, like \"127.0.0.1:8080\", "
                         f"got {short(value)}")
            return None
        port = self._port(name, int(port_text))
        return None if port is None else f"{host}:{port}"

    def _port(self, name: str, value: object) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(name, f"must be a port number, got {short(value)}")
            return None
        if not 1 <= value <= 65535:
            self.problem(name, f"port {value} is out of range 1-65535")
            return None
        if value < 1024 and os.geteuid() != 0:
            self.problem(name, f"port {value} is below 1024 and needs root; pick a port >= 1024")
            return None
        return value


def listen_clash(listen: str, ports: tuple[int, int]) -> str | None:
    """The problem when the managed nginx would listen on a slot port, or None."""
    port = int(listen.rpartition(":")[2])
    if port in ports:
        return f"nginx.listen: port {port} is also a slot port in app.ports"
    return None


def _is_listen_host(host: str) -> bool:
    if host == "*":
        return True
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if "%" in bare:  # an IPv6 zone ("fe80::1%eth0") may hold any character; nginx takes none
        return False
    try:
        ipaddress.ip_address(bare)
    except ValueError:
        return False
    # IPv6 must be written in brackets, IPv4 without.
    return (":" in bare) if bare != host else (":" not in bare)
