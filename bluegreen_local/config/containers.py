"""The docker runner's tables: [docker] (how a slot's container runs), [resources] (limits
per slot) and [capacity] (the memory check before a second version starts)."""

from __future__ import annotations

import math
import re
from typing import Final

from bluegreen_local.config.checker import Section
from bluegreen_local.config.fields import placeholder_problem, short
from bluegreen_local.config.model import CapacityConfig, DockerConfig, ResourcesConfig
from bluegreen_local.config.reader import MISSING
from bluegreen_local.model.types import RunnerKind
from bluegreen_local.util.sizes import parse_size

# A reference docker accepts: [registry[:port]/]path[:tag], {version} allowed in the tag.
IMAGE_RE: Final = re.compile(r"[a-z0-9][a-z0-9._/:-]*(:[A-Za-z0-9_.{}-]{1,128})?")
USER_RE: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,31})?")
VOLUME_RE: Final = re.compile(r"(/[A-Za-z0-9._/@+-]*):(/[A-Za-z0-9._/@+-]*)(:ro|:rw)?")
RESTART: Final = ("unless-stopped", "no", "on-failure", "always")
DOCKER_ONLY: Final = ("needs app.runner = \"docker\" (the process runner cannot limit a slot "
                      "yet); remove it or switch runners")


def read_docker(top: Section, runner: RunnerKind | None) -> DockerConfig | None:
    with top.table("docker", doc="app.runner = \"docker\": the image and how each slot's "
                   "container runs") as s:
        image = s.string("image", doc="the image, e.g. \"registry.local/geoip:{version}\" "
                         "(required with the docker runner)")
        port = s.integer("container_port", 0, low=0, high=65535, doc="bridge network: the "
                         "port the app listens on inside (0: the slot's port)")
        network = s.one_of("network", ("host", "bridge"), "host", doc="\"host\": the app "
                           "listens on $PORT; \"bridge\": container_port is published on "
                           "127.0.0.1:<slot port>")
        pull = s.one_of("pull", ("missing", "always", "never"), "missing", doc="when to "
                        "pull the image before a slot starts")
        restart = s.one_of("restart", RESTART, "unless-stopped", doc="the container's "
                           "restart policy")
        command = _argv(s)
        user = _matching(s, "user", USER_RE, "a user name or uid, optionally :group",
                         doc="run as this user[:group] (not set: the image's)")
        read_only = _boolean(s, "read_only", doc="mount the container's root filesystem "
                             "read-only")
        volumes = _volumes(s)
        host = s.string("host", doc="the engine's address, e.g. \"unix:///run/docker.sock\" "
                        "(not set: $DOCKER_HOST, then the local socket)")
    if runner is not RunnerKind.DOCKER:
        return None
    if image is None or not IMAGE_RE.fullmatch(image) or placeholder_problem(image):
        s.problem("image", "required with app.runner = \"docker\": an image reference like "
                  f"\"registry.local/app:{{version}}\", got {short(image)}")
        return None
    if network is None or pull is None or restart is None:
        return None
    return DockerConfig(image, port or None, network, pull, restart, command, user,
                        read_only, volumes, host)


def read_resources(top: Section, runner: RunnerKind | None) -> ResourcesConfig:
    with top.table("resources", doc="limits for each slot's container (docker runner)") as s:
        memory = _memory(s)
        cpus = _cpus(s)
        pids = s.integer("pids", 0, low=0, high=4194304, doc="the most processes a slot "
                         "may run (0: no limit)") or None
        if runner is RunnerKind.PROCESS:
            for name in ("memory", "cpus", "pids"):
                if s.given(name):
                    s.problem(name, DOCKER_ONLY)
    return ResourcesConfig(memory, cpus, pids)


def read_capacity(top: Section) -> CapacityConfig:
    with top.table("capacity", doc="before a second version starts: does the host have "
                   "memory for it?") as s:
        check = _boolean(s, "check", default=True, doc="refuse to deploy (exit 9) when "
                         "MemAvailable is below the new slot's need")
        headroom = _number(s, "headroom", 1.2, low=1.0, high=10.0, doc="without "
                           "resources.memory, the need is the live slot's memory times this")
    return CapacityConfig(check, headroom if headroom is not None else 1.2)


def _memory(s: Section) -> int | None:
    text = s.string("memory", doc="the memory limit per slot, e.g. \"512M\" or \"1.5G\" "
                    "(not set: none)")
    if text is None:
        return None
    size = parse_size(text)
    if size is None or size < 6 * 2**20:
        s.problem("memory", f"must be a size of at least 6M like \"512M\" or \"2G\", got "
                  f"{short(text)}")
        return None
    return size


def _cpus(s: Section) -> float | None:
    return _number(s, "cpus", None, low=0.01, high=1024.0, doc="CPUs per slot, e.g. 1.5 "
                   "(not set: no limit)")


def _number(s: Section, name: str, default: float | None, *, low: float, high: float,
            doc: str) -> float | None:
    s.document(name, doc, default)
    value = s.value(name)
    if value is MISSING:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        s.problem(name, f"must be a number, got {short(value)}")
        return default
    if not low <= value <= high:
        s.problem(name, f"must be between {low:g} and {high:g}, got {value}")
        return default
    return float(value)


def _boolean(s: Section, name: str, *, default: bool = False, doc: str) -> bool:
    s.document(name, doc, default)
    value = s.value(name)
    if value is MISSING:
        return default
    if not isinstance(value, bool):
        s.problem(name, f"must be true or false, got {short(value)}")
        return default
    return value


def _strings(s: Section, name: str, doc: str) -> tuple[str, ...] | None:
    s.document(name, doc, None)
    value = s.value(name)
    if value is MISSING:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        s.problem(name, f"must be a list of strings, got {short(value)}")
        return None
    if any("\x00" in v for v in value):
        s.problem(name, "must not contain NUL bytes")
        return None
    return tuple(value)


def _argv(s: Section) -> tuple[str, ...] | None:
    argv = _strings(s, "command", "argv that replaces the image's CMD, e.g. [\"app\", "
                    "\"--port\", \"{port}\"] (not set: the image's)")
    if argv is not None:
        problems = [p for p in map(placeholder_problem, argv) if p]
        if problems or not argv:
            s.problem("command", problems[0] if problems else "must not be empty")
            return None
    return argv


def _matching(s: Section, name: str, pattern: re.Pattern[str], what: str,
              *, doc: str) -> str | None:
    value = s.string(name, doc=doc)
    if value is not None and not pattern.fullmatch(value):
        s.problem(name, f"must be {what}, got {short(value)}")
        return None
    return value


def _volumes(s: Section) -> tuple[str, ...]:
    entries = _strings(s, "volumes", "bind mounts, \"/host/path:/container/path[:ro]\" "
                       "(absolute paths only)") or ()
    bad = [e for e in entries if not VOLUME_RE.fullmatch(e) or ".." in e.split("/")]
    if bad:
        s.problem("volumes", f"{short(bad[0])} is not \"/host/path:/container/path[:ro]\" "
                  "with absolute paths of A-Z a-z 0-9 . _ / @ + -")
        return ()
    return entries
