"""The rendered nginx files, pinned byte for byte by golden files, and the template guards."""

from __future__ import annotations

import dataclasses
import difflib
from pathlib import Path

import jinja2
import pytest

from bluegreen_local import config, nginx
from bluegreen_local.config import Config
from bluegreen_local.model.errors import NginxError
from bluegreen_local.model.types import Release, Role, Route, Slot, live_routes
from bluegreen_local.nginx import templating
from bluegreen_local.nginx.files import render_placeholder
from bluegreen_local.nginx.templating import ServerLine

GOLDEN = Path(__file__).parent / "golden"
CONFIG_PATH = Path("/srv/bg/bluegreen.toml")
GENERATION = "7-abcdef01"
MANAGED_TOML = """\
state_dir = "/srv/bg/state"

[app]
name = "shop-api"
command = "python3 app.py --port {port}"
ports = [7001, 7002]

[nginx]
listen = "127.0.0.1:8080"

[drain]
timeout = "45s"
"""
# /tmp exists everywhere, and system mode requires the upstream file's folder to exist.
SYSTEM_TOML = MANAGED_TOML.replace(
    'listen = "127.0.0.1:8080"',
    'mode = "system"\nupstream_file = "/tmp/bluegreen-shop-api.conf"',
)


@pytest.fixture
def managed() -> Config:
    return config.parse(MANAGED_TOML, CONFIG_PATH)


@pytest.fixture
def system() -> Config:
    return config.parse(SYSTEM_TOML, CONFIG_PATH)


def assert_golden(name: str, rendered: str) -> None:
    expected = (GOLDEN / name).read_bytes()
    actual = rendered.encode("utf-8")
    if actual != expected:
        diff = difflib.unified_diff(
            expected.decode("utf-8").splitlines(keepends=True),
            rendered.splitlines(keepends=True),
            fromfile=f"golden/{name}", tofile="rendered",
        )
        pytest.fail(f"{name} differs from its golden file:\n{''.join(diff)}")


def test_upstream_golden(managed: Config) -> None:
    live = Release(Slot.GREEN, 7002, "v1.2.3")
    spec = nginx.upstream_spec(managed, live_routes(live), GENERATION)
    assert_golden("upstream.conf", nginx.render(spec))


def test_main_golden(managed: Config) -> None:
    assert_golden("nginx.conf", nginx.render(nginx.main_spec(managed)))


def test_system_upstream_golden(system: Config) -> None:
    live = Release(Slot.BLUE, 7001, "2024-01-01_rc1")
    spec = nginx.upstream_spec(system, live_routes(live), "12-0badc0de")
    assert_golden("upstream-system.conf", nginx.render(spec))


def test_site_snippet_golden(system: Config) -> None:
    assert_golden("site-snippet.conf", nginx.render_site_snippet(system))


def test_placeholder_upstream_golden(system: Config) -> None:
    assert_golden("upstream-placeholder.conf", render_placeholder(system))


def test_golden_files_end_with_one_newline() -> None:
    for path in GOLDEN.iterdir():
        data = path.read_bytes()
        assert data.endswith(b"}\n"), path.name
        assert not data.endswith(b"\n\n"), path.name


def test_upstream_points_only_at_the_live_slot(managed: Config) -> None:
    text = nginx.render(nginx.upstream_spec(managed, live_routes(Release(Slot.BLUE, 7001, "v9")),
                                          "3-00ff00ff"))
    assert "server 127.0.0.1:7001 max_fails=0;" in text
    assert "7002" not in text
    assert text.count('"3-00ff00ff"') == 1


def test_shutdown_timeout_outlives_drain_and_stop() -> None:
    """Old workers must carry answers the old slot finishes after SIGTERM: drain + stop + 5s."""
    short = config.parse(MANAGED_TOML.replace('"45s"', '"200ms"'), CONFIG_PATH)
    text = nginx.render(nginx.main_spec(short))
    assert "worker_shutdown_timeout 16s;" in text  # ceil(0.2 + 10 (default stop)) + 5


def test_upstream_name_has_no_dashes(managed: Config) -> None:
    assert nginx.upstream_name(managed) == "bluegreen_shop_api"


def test_server_lines_weight_and_backup() -> None:
    text = templating.render(
        "upstream.conf.j2", app="web", generation="1-x", generation_var="g",
        live=Release(Slot.BLUE, 7001, "v1"), others=(), upstream="u", admin_socket="/s.sock",
        confirm_socket="/s.sock.x",
        servers=[ServerLine(7001, weight=3), ServerLine(7002, backup=True)],
    )
    assert "    server 127.0.0.1:7001 weight=3 max_fails=0;\n" in text
    assert "    server 127.0.0.1:7002 max_fails=0 backup;\n" in text


# -- guards -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["a b", "a;b", "a{b", "a}b", 'a"b', "a'b", "$host", "a#b", "a\nb", "a\tb", "", "a\\b",
     "a`b", "/srv/bg/state\n", "x;\ninclude /etc/passwd"],
)
def test_nginx_safe_refuses(value: str) -> None:
    with pytest.raises(NginxError, match="unsafe characters"):
        templating.nginx_safe(value)


@pytest.mark.parametrize(
    "value",
    ["/srv/bg/state/nginx/admin.sock", "127.0.0.1:8080", "[::1]:8080", "*:80", GENERATION,
     "/var/lib/bluegreen/my_app-2/nginx/conf/upstream.conf"],
)
def test_nginx_safe_accepts(value: str) -> None:
    assert templating.nginx_safe(value) == value


def test_missing_variable_raises_nginx_error() -> None:
    with pytest.raises(NginxError, match=r"cannot render template upstream\.conf\.j2"):
        templating.render("upstream.conf.j2", app="x")


def test_missing_attribute_raises_nginx_error() -> None:
    with pytest.raises(NginxError, match=r"upstream\.conf\.j2"):
        templating.render(
            "upstream.conf.j2", app="web", generation="1-x", generation_var="g", live=object(),
            upstream="u", admin_socket="/s.sock", confirm_socket="/s.sock.x", servers=[],
        )


def test_unknown_template_raises_nginx_error() -> None:
    with pytest.raises(NginxError, match=r"no-such\.j2"):
        templating.render("no-such.j2")


def test_unsafe_token_is_not_rendered(managed: Config) -> None:
    with pytest.raises(NginxError, match="unsafe"):
        nginx.upstream_spec(managed, live_routes(Release(Slot.BLUE, 7001, "v1")),
                            '1-x"; return 500')


def test_unsafe_state_dir_is_not_rendered() -> None:
    # Config loading refuses such a path; the renderer refuses it again (defence in depth).
    good = config.parse(MANAGED_TOML, CONFIG_PATH)
    cfg = dataclasses.replace(good, state_dir=Path("/srv/my app"))
    with pytest.raises(NginxError, match="unsafe"):
        nginx.render(nginx.main_spec(cfg))


def test_environment_is_strict_and_keeps_newlines() -> None:
    env = templating.environment()
    assert env.undefined is jinja2.StrictUndefined
    assert env.keep_trailing_newline
    assert not env.autoescape
    assert env.from_string("a\n").render() == "a\n"


def test_the_upstream_is_built_from_the_topology(managed: Config) -> None:
    """Staged routes are recorded (for a preview listener), canary routes share the public
    upstream by weight, and the header reads back as the same routes."""
    live = Release(Slot.BLUE, 7001, "v1")
    canary = Release(Slot.GREEN, 7002, "v2")
    routes = (Route(Role.LIVE, live), Route(Role.CANARY, canary, 10))
    text = nginx.render(nginx.upstream_spec(managed, routes, "5-0000abcd"))
    assert "server 127.0.0.1:7001 weight=90 max_fails=0;" in text
    assert "server 127.0.0.1:7002 weight=10 max_fails=0;" in text
    assert nginx.parse_rendered(text) == nginx.Rendered("5-0000abcd", live, routes[1:])
    staged = (Route(Role.LIVE, live), Route(Role.STAGED, canary))
    text = nginx.render(nginx.upstream_spec(managed, staged, "6-0000abcd"))
    assert "7002" not in text.split("upstream ", 1)[1].split("}", 1)[0], "staged takes no traffic"
    found = nginx.parse_rendered(text)
    assert found is not None and found.routes == staged


def test_a_topology_needs_exactly_one_live_route(managed: Config) -> None:
    release = Release(Slot.BLUE, 7001, "v1")
    for routes in [(), (Route(Role.STAGED, release),),
                   (Route(Role.LIVE, release), Route(Role.LIVE, release))]:
        with pytest.raises(ValueError, match="exactly one live route"):
            nginx.upstream_spec(managed, routes, "1-00000000")
