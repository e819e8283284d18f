"""What bluegreen renders into nginx: names, sockets, and the file specs for a topology (the
routes: which release takes traffic in which role)."""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from bluegreen_local.config.model import Config
from bluegreen_local.model.types import Release, Role, Route, Slot
from bluegreen_local.nginx.control import main_conf
from bluegreen_local.nginx.rendered import Spec
from bluegreen_local.nginx.templating import ServerLine, nginx_safe


def upstream_name(config: Config) -> str:
    return f"bluegreen_{config.app.name.replace('-', '_')}"


@dataclass(frozen=True, slots=True)
class Rendered:
    """What the upstream file on disk says: its generation, the live release, and the other
    routes (staged, canary) in the order the header lists them."""

    token: str
    live: Release
    others: tuple[Route, ...] = field(default=())

    @property
    def routes(self) -> tuple[Route, ...]:
        return (Route(Role.LIVE, self.live), *self.others)


# The first header line keeps the format every earlier release wrote, so an upstream file from
# before the topology still reads (and is adopted) the same way.
_HEADER_RE: Final = re.compile(
    r"^# generation (\S+): live (blue|green) \(version (\S+), port (\d+)\)$", re.MULTILINE)
_ROUTE_RE: Final = re.compile(
    r"^# (staged|canary) (blue|green) \(version (\S+), port (\d+), weight (\d+)\)$",
    re.MULTILINE)


def parse_rendered(text: str) -> Rendered | None:
    """Read the header the upstream template writes; None if the file is not ours or was edited."""
    match = _HEADER_RE.search(text)
    if match is None:
        return None
    token, slot, version, port = match.groups()
    others = tuple(
        Route(Role(role), Release(Slot(o_slot), int(o_port), o_version), int(weight))
        for role, o_slot, o_version, o_port, weight in _ROUTE_RE.findall(text))
    return Rendered(token, Release(Slot(slot), int(port), version), others)


def read_rendered(config: Config) -> Rendered | None:
    try:
        return parse_rendered(config.nginx.upstream_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return None


def generation_var(config: Config) -> str:
    """The map variable holding the generation: short and unique per app, because nginx's
    variables hash (bucket size 64 by default) refuses long names."""
    digest = hashlib.sha256(config.app.name.encode()).hexdigest()[:12]
    return f"bluegreen_gen_{digest}"


def confirm_socket(config: Config, token: str) -> Path:
    """The admin socket of one generation. During a reload nginx's old workers keep accepting
    on shared sockets for about 100 ms, so a probe there can get the old answer; they never
    listen on this one, which nginx creates with the new configuration and deletes with it."""
    admin = config.nginx.admin_socket
    # Only the random part, so the path stays short; the answer must still be the whole token.
    return admin.with_name(f"{admin.name}.{token.rsplit('-', 1)[-1]}")


def upstream_spec(config: Config, routes: tuple[Route, ...], token: str) -> Spec:
    """The file bluegreen owns: the upstream built from the routes, plus the generation
    endpoint. Exactly one route is live; staged routes are listed (a preview listener will
    serve them), canary routes share the public upstream by weight."""
    live = [r for r in routes if r.role is Role.LIVE]
    if len(live) != 1:
        raise ValueError(f"a topology needs exactly one live route, got {routes!r}")
    others = tuple(r for r in routes if r.role is not Role.LIVE)
    return _spec(
        config.nginx.upstream_file, "upstream.conf.j2",
        app=config.app.name,
        generation=nginx_safe(token),
        generation_var=generation_var(config),
        live=live[0].release,
        others=others,
        upstream=upstream_name(config),
        servers=_servers(routes),
        admin_socket=nginx_safe(str(config.nginx.admin_socket)),
        confirm_socket=nginx_safe(str(confirm_socket(config, token))),
    )


def _servers(routes: tuple[Route, ...]) -> list[ServerLine]:
    """The public upstream's server lines: the live release and any canary, by weight."""
    canary = sum(r.weight for r in routes if r.role is Role.CANARY)
    lines = []
    for route in routes:
        if route.role is Role.LIVE:
            lines.append(ServerLine(route.release.port, max(100 - canary, 1) if canary else 1))
        elif route.role is Role.CANARY:
            lines.append(ServerLine(route.release.port, route.weight))
    return lines


def main_spec(config: Config) -> Spec:
    """The managed nginx's nginx.conf."""
    return _spec(
        main_conf(config), "nginx.conf.j2",
        app=config.app.name,
        prefix=nginx_safe(str(config.nginx_prefix)),
        worker_processes="auto",
        # Past the drain timeout the old slot gets SIGTERM and may finish its requests within
        # stop_timeout; the old workers must outlive that to carry the answers back.
        shutdown_timeout=f"{math.ceil(config.drain.timeout + config.app.stop_timeout) + 5}s",
        listen=nginx_safe(config.nginx.listen),
        upstream=upstream_name(config),
        upstream_file=nginx_safe(str(config.nginx.upstream_file)),
    )


def _spec(path: Path, template: str, **values: object) -> Spec:
    return Spec(path, template, tuple(values.items()))
