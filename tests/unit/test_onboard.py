"""System-mode onboarding in `check`: the placeholder upstream, whose file it is, what `nginx -T`
says about the sites, the hints on nginx's refusals, and the snippet printed raw."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bluegreen_local import config, nginx
from bluegreen_local.cli.app import app
from bluegreen_local.config import Config
from bluegreen_local.model.errors import NginxError, StateError, UsageError
from bluegreen_local.model.types import Release, Slot, live_routes
from bluegreen_local.nginx import sites
from bluegreen_local.nginx.files import render_placeholder
from bluegreen_local.usecases import onboard

SAMPLES = Path(__file__).parent / "samples"


def system_toml(tmp_path: Path, test_command: str = "nginx -t") -> str:
    return f"""\
state_dir = "{tmp_path / 'state'}"
[app]
name = "geoip"
command = "python3 app.py --port {{port}}"
[nginx]
mode = "system"
upstream_file = "{tmp_path / 'conf.d/bluegreen-geoip.conf'}"
test_command = "{test_command}"
"""


@pytest.fixture
def system(tmp_path: Path) -> Config:
    (tmp_path / "conf.d").mkdir()
    path = tmp_path / "bluegreen.toml"
    path.write_text(system_toml(tmp_path))
    return config.load(path)


def upstream(cfg: Config) -> Path:
    return cfg.nginx.upstream_file


# -- the upstream file --------------------------------------------------------------------


def test_check_creates_the_placeholder_when_there_is_no_file(system: Config) -> None:
    item = onboard.upstream_item(system, None)
    assert item.ok and not item.warning and item.detail.startswith("created ")
    assert upstream(system).read_text() == render_placeholder(system)
    assert upstream(system).stat().st_mode & 0o777 == 0o644  # nginx's workers read it
    again = onboard.upstream_item(system, None)
    assert again.ok and "the placeholder" in again.detail


def test_the_placeholder_defines_our_upstream_with_no_server_taking_traffic(
    system: Config,
) -> None:
    text = render_placeholder(system)
    [block] = [d for d in sites.parse_file("p", text) if d.words[0] == "upstream"]
    assert block.words == ("upstream", "bluegreen_geoip")
    assert "server 127.0.0.1:7001 down;" in text
    # A deploy must not mistake it for a generation it rendered.
    assert nginx.parse_rendered(text) is None


def test_a_rendered_generation_is_ours(system: Config) -> None:
    spec = nginx.upstream_spec(system, live_routes(Release(Slot.GREEN, 7002, "v2")), "4-ab")
    upstream(system).write_text(nginx.render(spec))
    item = onboard.upstream_item(system, None)
    assert item.ok and item.detail.endswith("generation 4-ab, live green (v2, port 7002)")
    assert upstream(system).read_text() == nginx.render(spec)


def test_no_placeholder_while_a_version_is_live(system: Config) -> None:
    """nginx would load it at its next reload and stop serving the live version."""
    item = onboard.upstream_item(system, Release(Slot.BLUE, 7001, "v1"))
    assert not item.ok and "bluegreen recover" in item.detail
    assert not upstream(system).exists()


def test_another_apps_file_fails(system: Config, tmp_path: Path) -> None:
    other = config.parse(system_toml(tmp_path).replace('"geoip"', '"shop"'), system.path)
    upstream(system).write_text(render_placeholder(other))
    item = onboard.upstream_item(system, None)
    assert not item.ok and "belongs to the app 'shop'" in item.detail


def test_a_hand_written_stand_in_is_replaced_with_a_warning(system: Config) -> None:
    upstream(system).write_text("upstream bluegreen_geoip { server 127.0.0.1:9; }\n")
    item = onboard.upstream_item(system, None)
    assert item.ok and item.warning and "the first deploy replaces it" in item.detail


def test_someone_elses_file_fails_and_is_left_alone(system: Config) -> None:
    upstream(system).write_text("server { listen 80; }\n")
    item = onboard.upstream_item(system, None)
    assert not item.ok and "not written by bluegreen" in item.detail
    assert upstream(system).read_text() == "server { listen 80; }\n"


def test_an_unwritable_file_fails_naming_it(
    system: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(cfg: Config) -> bool:
        raise StateError(f"cannot write {upstream(cfg)}: Permission denied; it was left "
                         "unchanged")

    monkeypatch.setattr(onboard, "create_placeholder", refuse)
    item = onboard.upstream_item(system, None)
    assert not item.ok and item.detail.startswith(f"cannot write {upstream(system)}")
    assert item.detail.endswith("(every deploy writes this file)")


# -- nginx -T ---------------------------------------------------------------------------------


def fake_dump(monkeypatch: pytest.MonkeyPatch, name: str, cfg: Config) -> None:
    """Replay a recorded dump, its /etc/nginx paths moved to where the test's files are."""
    text = (SAMPLES / f"nginx-T-debian-{name}.txt").read_text()
    text = text.replace("/etc/nginx/conf.d/bluegreen-geoip.conf", str(upstream(cfg)))
    monkeypatch.setattr(sites, "read_dump", lambda argv: sites.parse_dump(text))


def test_the_stock_default_site_gets_a_warning(
    system: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_dump(monkeypatch, "stock", system)
    include, site = onboard.site_items(system)
    assert include.ok and not include.warning
    assert site.ok and site.warning and "no enabled site proxies to bluegreen_geoip" in site.detail


def test_a_site_that_proxies_to_us_is_named(
    system: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_dump(monkeypatch, "included", system)
    _, site = onboard.site_items(system)
    assert site.ok and not site.warning
    assert site.detail.endswith("/etc/nginx/snippets/bluegreen-geoip.conf:11")


def test_an_upstream_file_nginx_does_not_read_fails(
    system: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sites, "read_dump", lambda argv: sites.parse_dump(
        (SAMPLES / "nginx-T-debian-stock.txt").read_text()))
    include, _ = onboard.site_items(system)
    assert not include.ok and "include it in the http block" in include.detail


def test_the_dump_runs_the_test_command_with_capital_t(
    system: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[list[str]] = []

    def record(argv: list[str]) -> sites.Dump:
        seen.append(argv)
        return sites.Dump((), ())

    monkeypatch.setattr(sites, "read_dump", record)
    onboard.site_items(system)
    assert seen == [[system.nginx.test_command[0], "-T"]]  # the program as the config found it


def test_a_dump_that_fails_is_a_warning(system: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(argv: list[str]) -> sites.Dump:
        raise NginxError("cannot read the nginx configuration: nginx: command not found")

    monkeypatch.setattr(sites, "read_dump", refuse)
    [item] = onboard.site_items(system)
    assert item.ok and item.warning and "command not found" in item.detail


def test_a_test_command_without_t_is_a_warning(tmp_path: Path) -> None:
    (tmp_path / "conf.d").mkdir()
    path = tmp_path / "bluegreen.toml"
    path.write_text(system_toml(tmp_path, test_command="/usr/local/bin/nginx-test"))
    [item] = onboard.site_items(config.load(path))
    assert item.warning and "no -t to turn into -T" in item.detail


@pytest.mark.parametrize(("refusal", "hint"), [
    ('nginx: [emerg] host not found in upstream "bluegreen_geoip" in /etc/nginx/x:3',
     "include "),
    ('nginx: [emerg] duplicate location "/" in /etc/nginx/snippets/bluegreen-geoip.conf:10',
     "has a `location /` of its own"),
])
def test_the_two_refusals_of_a_half_done_setup_get_a_hint(
    system: Config, refusal: str, hint: str
) -> None:
    text = onboard.nginx_hint(system, refusal)
    assert text.startswith(refusal) and hint in text


def test_other_refusals_are_left_as_nginx_said(system: Config) -> None:
    assert onboard.nginx_hint(system, "nginx: [emerg] unknown directive") == \
        "nginx: [emerg] unknown directive"


def test_managed_mode_has_no_snippet(config_file: Path) -> None:
    with pytest.raises(UsageError, match="system mode"):
        onboard.site_snippet(config.load(config_file))


# -- the command line -------------------------------------------------------------------------


def test_snippet_alone_is_the_rendered_snippet_byte_for_byte(system: Config) -> None:
    result = CliRunner().invoke(app, ["check", "--snippet", "-c", str(system.path)],
                                env={"COLUMNS": "40"})
    assert result.exit_code == 0, result.output
    assert result.stdout == nginx.render_site_snippet(system)
    assert not upstream(system).exists(), "--snippet checks nothing and writes nothing"


def test_snippet_with_json_is_a_usage_error(system: Config) -> None:
    result = CliRunner().invoke(app, ["check", "--snippet", "--json", "-c", str(system.path)])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["kind"] == "usage"


def test_snippet_in_managed_mode_exits_2(config_file: Path) -> None:
    result = CliRunner().invoke(app, ["check", "--snippet", "-c", str(config_file)])
    assert result.exit_code == 2 and "system mode" in result.stderr


def test_check_prints_the_snippet_unwrapped_at_40_columns(
    system: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(nginx, "test", lambda cfg: None)
    fake_dump(monkeypatch, "included", system)
    result = CliRunner().invoke(app, ["check", "-c", str(system.path)], env={"COLUMNS": "40"})
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith(nginx.render_site_snippet(system))
    assert "ok   site: proxy_pass http://bluegreen_geoip" in result.stdout
