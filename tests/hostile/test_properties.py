"""Property tests: every value the validators accept is harmless where it lands.

Generated configs go through config.parse like a file would. A rejected one must raise
ConfigError (a version: UsageError), never anything else. An accepted one is rendered into the
managed nginx.conf and upstream file, which must keep the template's syntax exactly (the same
count of ; { } quotes $ # and newlines as a plain config gives), must hold no such character
inside a substituted value, and must pass a real `nginx -t` in a scratch prefix.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tempfile
from pathlib import Path
from typing import Final

import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from bluegreen_local import config, nginx
from bluegreen_local.config import Config
from bluegreen_local.config.fields import check_version
from bluegreen_local.model.errors import ConfigError, NginxError, UsageError
from bluegreen_local.model.types import Release, Slot, live_routes
from bluegreen_local.nginx import managed as proxy
from bluegreen_local.nginx import templating
from bluegreen_local.store.files import atomic_write, ensure_dir
from bluegreen_local.store.state import State

pytestmark = pytest.mark.nginx

SYNTAX: Final = ";{}\"'$#\n\r\t \\"
# nginx refuses longer names today (see test_a_long_app_name_passes_nginx_t, a known bug).
NAME_MAX_NGINX_TAKES: Final = 63  # the validator's limit; nginx takes all of it
# No explain phase: it reruns a failure hundreds of times (with nginx -t) to annotate it.
PHASES: Final = (Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink)
# bind() runs after nginx has parsed everything: failing there proves the syntax was fine.
BIND_ONLY_RE: Final = re.compile(r"\[emerg\] bind\(\) to \S+ failed \((22|98|99): ")
FIELDS_OF_A_SAFE_VALUE: Final = ("name", "version", "listen", "prefix", "upstream_file",
                                 "admin_socket", "upstream", "token")


def toml_str(text: str) -> str:
    """A TOML basic string holding exactly `text` (control characters escaped)."""
    out = []
    for ch in text:
        if ch in '"\\' or not ch.isprintable():
            out.append(f"\\U{ord(ch):08x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def document(scratch: Path, nginx_bin: str, **values: str) -> str:
    """A config with TOML `values` (keys like "app.name") over good defaults."""
    base = {
        "state_dir": toml_str(f"{scratch}/state"),
        "app.name": '"web"',
        "app.command": '"python3 app.py --port {port}"',
        "app.ports": "[7001, 7002]",
        "nginx.binary": toml_str(nginx_bin),
        "nginx.listen": '"127.0.0.1:8080"',
        "drain.timeout": '"30s"',
    }
    base.update(values)
    sections: dict[str, list[str]] = {"": [], "app": [], "health": [], "nginx": [], "drain": []}
    for key, value in base.items():
        section, _, name = key.rpartition(".")
        sections[section].append(f"{name} = {value}")
    return "\n".join(("" if not s else f"[{s}]\n") + "\n".join(lines)
                     for s, lines in sections.items()) + "\n"


def safe_values(cfg: Config, version: str, token: str) -> dict[str, str]:
    return {"name": cfg.app.name, "version": version, "listen": cfg.nginx.listen,
            "prefix": str(cfg.nginx_prefix), "upstream_file": str(cfg.nginx.upstream_file),
            "admin_socket": str(cfg.nginx.admin_socket), "upstream": nginx.upstream_name(cfg),
            "token": token}


def shape(files: dict[Path, str]) -> list[tuple[str, int]]:
    """The nginx syntax of rendered files, values aside: how often each syntax character occurs."""
    return [(ch, text.count(ch)) for text in files.values() for ch in ";{}\"'$#\n"]


def inside(scratch: Path, cfg: Config) -> bool:
    paths = (cfg.state_dir, cfg.nginx.upstream_file, cfg.nginx.admin_socket,
             cfg.nginx.pid_file, cfg.nginx.error_log or cfg.state_dir)
    return all(Path(os.path.normpath(p)).is_relative_to(scratch) for p in paths)


def check_rendered(cfg: Config, version: str, scratch: Path, nginx_bin: str) -> None:
    """The accepted config renders safely and passes a real nginx -t."""
    _, token = State(generation=41).next_generation()
    release = Release(Slot.BLUE, cfg.app.ports[0], version)
    files = nginx.desired_files(cfg, live_routes(release), token)
    for field, value in safe_values(cfg, version, token).items():
        assert not set(value) & set(SYNTAX), (field, value)
        assert templating.NGINX_SAFE_RE.fullmatch(value), (field, value)
    plain = config.parse(document(scratch, nginx_bin), scratch / "bluegreen.toml")
    assert shape(files) == shape(nginx.desired_files(
        plain, live_routes(Release(Slot.BLUE, 7001, "v1")), "1-a"))
    rendered = nginx.parse_rendered(files[cfg.nginx.upstream_file])
    assert rendered == nginx.Rendered(token, release)
    if not inside(scratch, cfg):
        event("a path outside the scratch folder: syntax checked, nginx -t skipped")
        return
    proxy.prepare_prefix(cfg)
    for path, text in files.items():
        ensure_dir(path.parent)
        atomic_write(path, text, mode=0o644)
    try:
        nginx.test(cfg)
    except NginxError as exc:
        if not BIND_ONLY_RE.search(str(exc)):
            raise
        event("nginx parsed it, then could not bind the address here")


def accept(text: str, scratch: Path, version: str) -> Config | None:
    """The parsed config, or None when it (or the version) is refused the documented way."""
    try:
        cfg = config.parse(text, scratch / "bluegreen.toml")
        check_version(version)
    except ConfigError as exc:
        assert exc.problems and all("\n" not in p for p in exc.problems), exc.problems
        event("refused: ConfigError")
        return None
    except UsageError:
        event("refused: UsageError")
        return None
    event("accepted")
    return cfg


# -- strategies ----------------------------------------------------------------------------------

names = st.from_regex(rf"[a-z0-9][a-z0-9_-]{{0,{NAME_MAX_NGINX_TAKES - 1}}}", fullmatch=True)
versions = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,127}", fullmatch=True)
hosts = st.one_of(
    st.ip_addresses(network="127.0.0.0/8").map(str),
    st.sampled_from(["0.0.0.0", "*", "[::1]", "[::]"]),
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(lambda a: f"[{a}]"),
)
segments = st.from_regex(r"[A-Za-z0-9_@+-][A-Za-z0-9._@+-]{0,9}", fullmatch=True)
subpaths = st.lists(segments, min_size=1, max_size=3).map("/".join)
durations = st.one_of(
    st.integers(0, 86400).map(str),
    st.floats(0, 86400).map(repr),
    st.tuples(st.integers(0, 1440), st.sampled_from(["ms", "s", "m", ""])).map(
        lambda t: f'"{t[0]}{t[1]}"'),
)


@st.composite
def good_configs(draw: st.DrawFn) -> dict[str, str]:
    blue, green, listen = draw(st.lists(st.integers(1, 65535), min_size=3, max_size=3,
                                        unique=True))
    values = {
        "app.name": toml_str(draw(names)),
        "app.ports": f"[{blue}, {green}]",
        "nginx.listen": toml_str(f"{draw(hosts)}:{listen}" if draw(st.booleans()) else
                                 str(listen)),
        "drain.timeout": draw(durations),
        "state_dir": toml_str("<scratch>/" + draw(subpaths)),
    }
    if draw(st.booleans()):
        values["nginx.admin_socket"] = toml_str("<scratch>/" + draw(segments) + ".sock")
    if draw(st.booleans()):
        values["nginx.upstream_file"] = toml_str("<scratch>/" + draw(subpaths) + ".conf")
    return values


def scratch_dir() -> tempfile.TemporaryDirectory[str]:
    # Short, so the admin socket stays under the 107-byte limit.
    return tempfile.TemporaryDirectory(prefix="bgp-")


@settings(max_examples=150, deadline=None, phases=PHASES,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(values=good_configs(), version=versions)
def test_an_accepted_config_renders_what_nginx_accepts(
    nginx_bin: str, values: dict[str, str], version: str
) -> None:
    with scratch_dir() as tmp:
        scratch = Path(tmp)
        text = document(scratch, nginx_bin, **values).replace("<scratch>", tmp)
        cfg = accept(text, scratch, version)
        if cfg is not None:
            check_rendered(cfg, version, scratch, nginx_bin)


# -- one hostile field at a time -----------------------------------------------------------------

HOSTILE_CHARS: Final = "aZ09._-/:;{}[]()$#'\"\\ \t\n\r\x00\x1b*%@+~é²٣!?&|<>`=,"
texts = st.text(alphabet=HOSTILE_CHARS, max_size=40) | st.text(max_size=20)
scalars = st.one_of(
    texts.map(toml_str),
    st.integers(-(2**63), 2**63 - 1).map(str),
    st.floats().map(repr),
    st.booleans().map(lambda b: str(b).lower()),
    st.sampled_from(["1979-05-27T07:32:00Z", "07:32:00", "{}", "[]", "{ a = 1 }"]),
)
toml_values = st.one_of(scalars, st.lists(scalars, max_size=3).map(
    lambda items: "[" + ", ".join(items) + "]"))
HOSTILE_FIELDS: Final = (
    "app.name", "app.command", "app.workdir", "app.env", "app.ports", "app.stop_timeout",
    "health.path", "health.host_header", "health.expect_status", "health.expect_body",
    "health.interval", "health.successes", "nginx.listen", "nginx.mode", "nginx.reload_timeout",
    "nginx.test_command", "drain.timeout",
)
PATH_FIELDS: Final = ("state_dir", "nginx.admin_socket", "nginx.upstream_file", "nginx.pid_file")


@settings(max_examples=600, deadline=None, phases=PHASES,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(field=st.sampled_from(HOSTILE_FIELDS), value=toml_values,
       name_text=st.text(alphabet=HOSTILE_CHARS, max_size=NAME_MAX_NGINX_TAKES))
def test_a_hostile_value_is_refused_or_harmless(
    nginx_bin: str, field: str, value: str, name_text: str
) -> None:
    with scratch_dir() as tmp:
        scratch = Path(tmp)
        if field == "app.name":
            value = toml_str(name_text)  # the long-name tests below cover 26-63
        cfg = accept(document(scratch, nginx_bin, **{field: value}), scratch, "v1")
        if cfg is not None:
            check_rendered(cfg, "v1", scratch, nginx_bin)


@settings(max_examples=300, deadline=None, phases=PHASES,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(field=st.sampled_from(PATH_FIELDS), tail=texts, absolute=st.booleans())
def test_a_hostile_path_is_refused_or_harmless(
    nginx_bin: str, field: str, tail: str, absolute: bool
) -> None:
    with scratch_dir() as tmp:
        scratch = Path(tmp)
        value = toml_str(f"{tmp}/{tail}" if absolute else tail)
        cfg = accept(document(scratch, nginx_bin, **{field: value}), scratch, "v1")
        if cfg is not None:
            check_rendered(cfg, "v1", scratch, nginx_bin)


@settings(max_examples=1000, deadline=None, phases=PHASES)
@given(version=st.text(alphabet=HOSTILE_CHARS, max_size=140) | st.text() | versions)
def test_a_version_is_refused_or_safe_in_files_argv_and_env(version: str) -> None:
    try:
        check_version(version)
    except UsageError as exc:
        assert str(exc).startswith("invalid version ") and len(str(exc)) < 250
        return
    assert not set(version) & set(SYNTAX + "/\x00")
    assert not version.startswith(("-", "."))
    # {version} in app.workdir stays one directory below the template's folder.
    workdir = Path(os.path.normpath(f"/srv/releases/{version}"))
    assert workdir.parent == Path("/srv/releases") and workdir.name == version


@settings(max_examples=1000, deadline=None, phases=PHASES)
@given(name=st.text(alphabet=HOSTILE_CHARS, max_size=70) | st.text(max_size=70) | names)
def test_an_app_name_is_refused_or_a_plain_identifier(name: str) -> None:
    text = f'[app]\nname = {toml_str(name)}\ncommand = "x"\n'
    try:
        cfg = config.parse(text, Path("/tmp/bgp/bluegreen.toml"))
    except ConfigError as exc:
        assert any(p.startswith("app.name: ") for p in exc.problems), exc.problems
        return
    assert re.fullmatch(r"bluegreen_[a-z0-9_]{1,63}", nginx.upstream_name(cfg))
    assert cfg.state_dir.name == name and name not in (".", "..")


@pytest.mark.parametrize(("field", "value"), [
    ("app", "web;}"), ("version", "v1\n}"), ("listen", "127.0.0.1:8080 ssl"),
])
def test_the_checks_catch_a_value_that_slipped_through(
    nginx_bin: str, field: str, value: str
) -> None:
    # The property above has teeth: a value the validators had let through is caught.
    with scratch_dir() as tmp:
        scratch = Path(tmp)
        cfg = config.parse(document(scratch, nginx_bin), scratch / "bluegreen.toml")
        version = value if field == "version" else "v1"
        if field == "app":
            cfg = dataclasses.replace(cfg, app=dataclasses.replace(cfg.app, name=value))
        if field == "listen":
            cfg = dataclasses.replace(cfg, nginx=dataclasses.replace(cfg.nginx, listen=value))
        with pytest.raises((AssertionError, NginxError)):
            check_rendered(cfg, version, scratch, nginx_bin)


# -- regression: long app names once overflowed nginx's variables hash ----------------------------


@pytest.mark.parametrize("length", [26, 40, 63])
def test_a_long_app_name_passes_nginx_t(nginx_bin: str, length: int) -> None:
    with scratch_dir() as tmp:
        scratch = Path(tmp)
        cfg = config.parse(document(scratch, nginx_bin, **{"app.name": '"' + "a" * length + '"'}),
                           scratch / "bluegreen.toml")
        check_rendered(cfg, "v1", scratch, nginx_bin)


def test_the_longest_name_nginx_takes_today_passes(nginx_bin: str) -> None:
    with scratch_dir() as tmp:
        scratch = Path(tmp)
        name = '"' + "a" * NAME_MAX_NGINX_TAKES + '"'
        cfg = config.parse(document(scratch, nginx_bin, **{"app.name": name}),
                           scratch / "bluegreen.toml")
        check_rendered(cfg, "v1", scratch, nginx_bin)
