"""Preparing the switch: staged names no include glob sees, and when a staged, tested file may
be installed without `nginx -t` at the switch."""

from __future__ import annotations

import dataclasses
import glob
from pathlib import Path

import pytest

from bluegreen_local import config, nginx
from bluegreen_local.config import Config
from bluegreen_local.engine.prepare import Prepared, only_values_differ, prepare, usable
from bluegreen_local.model.errors import NginxError
from bluegreen_local.model.types import Release, Slot, live_routes
from bluegreen_local.nginx import staged

LIVE = Release(Slot.BLUE, 7001, "v1")
NEXT = Release(Slot.GREEN, 7002, "v2")
OLD, NEW = "3-0badc0de", "4-feedf00d"


def _config(tmp_path: Path, nginx_table: str = "") -> Config:
    text = (f'state_dir = "{tmp_path}/st"\n[app]\nname = "web"\n'
            f'command = "app --port {{port}}"\nports = [7001, 7002]\n[nginx]\n{nginx_table}')
    return config.parse(text, tmp_path / "bluegreen.toml")


@pytest.fixture
def managed(tmp_path: Path) -> Config:
    return _config(tmp_path)


@pytest.fixture
def system(tmp_path: Path) -> Config:
    conf_d = tmp_path / "conf.d"
    conf_d.mkdir()
    return _config(tmp_path, f'mode = "system"\nupstream_file = "{conf_d}/bluegreen-web.conf"\n')


@pytest.fixture
def tests_run(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Fake `nginx -t`: records the text of each main file it is asked to test."""
    seen: list[str] = []

    def fake_test(cfg: Config, conf: Path | None = None) -> None:
        seen.append((conf or nginx.main_conf(cfg)).read_text())

    monkeypatch.setattr(nginx, "test", fake_test)
    return seen


def install(cfg: Config, live: Release = LIVE, token: str = OLD) -> dict[Path, str]:
    """The files as a confirmed switch to `live` at `token` leaves them."""
    files = nginx.render_all(nginx.file_specs(cfg, live_routes(live), token))
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return files


def ready(cfg: Config, prepared: Prepared | None) -> bool:
    return usable(prepared, nginx.file_specs(cfg, live_routes(NEXT), NEW), OLD)


# -- names -------------------------------------------------------------------------------------


def test_staged_names_are_dot_files_beside_the_real_ones() -> None:
    assert staged.copy_path(Path("/etc/nginx/conf.d/app.conf")) == Path(
        "/etc/nginx/conf.d/.app.conf.bluegreen-staged")
    assert staged.test_path(Path("/st/nginx/conf/nginx.conf")) == Path(
        "/st/nginx/conf/.nginx-test.conf.bluegreen-staged")


def test_no_include_glob_picks_up_a_staged_file(tmp_path: Path) -> None:
    real = tmp_path / "app.conf"
    for path in (real, staged.copy_path(real), staged.test_path(real)):
        path.write_text("")
    for pattern in ("*.conf", "*", "app*"):
        # glob.glob, not Path.glob: like glob(3) behind nginx's `include` (and unlike
        # pathlib), it never matches a leading dot with a wildcard.
        assert glob.glob(str(tmp_path / pattern)) == [str(real)]  # noqa: PTH207


def test_leftovers_name_every_staged_file_of_the_mode(managed: Config, system: Config) -> None:
    conf = managed.nginx_prefix / "conf"
    assert {p.name for p in staged.leftovers(managed)} == {
        ".upstream.conf.bluegreen-staged", ".nginx.conf.bluegreen-staged",
        ".nginx-test.conf.bluegreen-staged"}
    assert all(p.parent == conf for p in staged.leftovers(managed))
    assert staged.leftovers(system) == [staged.copy_path(system.nginx.upstream_file)]


# -- preparing ---------------------------------------------------------------------------------


def test_managed_tests_a_main_file_including_the_staged_upstream(
        managed: Config, tests_run: list[str]) -> None:
    install(managed)
    prepared = prepare(managed, live_routes(NEXT), 4, NEW, OLD)
    assert prepared is not None and prepared.tested
    upstream = managed.nginx.upstream_file
    assert f"include {staged.copy_path(upstream)};" in tests_run[0]
    # Only the upstream changes; its copy holds the final text, which includes the real path.
    assert prepared.copies == {upstream: staged.copy_path(upstream)}
    assert staged.copy_path(upstream).read_text() == prepared.files[upstream]
    assert ready(managed, prepared)


def test_a_refused_staged_config_leaves_nothing_and_the_switch_tests_again(
        managed: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    install(managed)

    def refuse(cfg: Config, conf: Path | None = None) -> None:
        raise NginxError("nginx refused the configuration:\n    [emerg] ...")

    monkeypatch.setattr(nginx, "test", refuse)
    assert prepare(managed, live_routes(NEXT), 4, NEW, OLD) is None
    assert not [p for p in staged.leftovers(managed) if p.exists()]


def test_stray_copies_of_a_killed_run_are_replaced(managed: Config, tests_run: list[str]) -> None:
    install(managed)
    stray = staged.copy_path(nginx.main_conf(managed))
    stray.write_text("from a run killed before its switch")
    prepared = prepare(managed, live_routes(NEXT), 4, NEW, OLD)
    assert prepared is not None and not stray.exists()
    staged.discard(managed)
    assert not [p for p in staged.leftovers(managed) if p.exists()]


# -- unchanged -> no test at the switch --------------------------------------------------------


def test_unchanged_inputs_are_usable(managed: Config, tests_run: list[str]) -> None:
    install(managed)
    assert ready(managed, prepare(managed, live_routes(NEXT), 4, NEW, OLD))


@pytest.mark.parametrize("change", ["hand edit", "copy lost", "copy edited"])
def test_a_change_on_disk_since_staging_is_not_usable(
        managed: Config, tests_run: list[str], change: str) -> None:
    files = install(managed)
    prepared = prepare(managed, live_routes(NEXT), 4, NEW, OLD)
    upstream = managed.nginx.upstream_file
    copy = staged.copy_path(upstream)
    if change == "hand edit":
        upstream.write_text(files[upstream] + "# edited\n")
    elif change == "copy lost":
        copy.unlink()
    else:
        copy.write_text("upstream x {}\n")
    assert not ready(managed, prepared)


def test_other_inputs_are_not_usable(managed: Config, tests_run: list[str]) -> None:
    install(managed)
    prepared = prepare(managed, live_routes(NEXT), 4, NEW, OLD)
    specs = nginx.file_specs(managed, live_routes(NEXT), NEW)
    assert not usable(None, specs, OLD)
    assert not usable(prepared, nginx.file_specs(managed, live_routes(NEXT), "5-00000000"), OLD)
    assert not usable(prepared, nginx.file_specs(managed, live_routes(LIVE), NEW), OLD)
    assert not usable(prepared, specs, "2-12345678"), "it follows another generation"
    longer = dataclasses.replace(managed.drain, timeout=managed.drain.timeout + 1)
    other = dataclasses.replace(managed, drain=longer)  # another worker_shutdown_timeout
    assert not usable(prepared, nginx.file_specs(other, live_routes(NEXT), NEW), OLD)


def test_system_mode_skips_the_test_when_only_our_values_change(
        system: Config, tests_run: list[str]) -> None:
    install(system)
    prepared = prepare(system, live_routes(NEXT), 4, NEW, OLD)
    assert prepared is not None and prepared.tested and tests_run == []
    assert ready(system, prepared)


def test_system_mode_tests_anything_else(system: Config, tests_run: list[str]) -> None:
    upstream = system.nginx.upstream_file
    upstream.write_text("upstream bluegreen_web { server 127.0.0.1:9; }\n")  # the placeholder
    prepared = prepare(system, live_routes(NEXT), 4, NEW, OLD)
    assert prepared is not None and not prepared.tested and tests_run == []


def test_only_values_differ_needs_the_confirmed_file_as_rendered(system: Config) -> None:
    text = install(system)[system.nginx.upstream_file]
    assert only_values_differ(system, text, OLD)
    assert not only_values_differ(system, text, "2-12345678"), "not the confirmed generation"
    assert not only_values_differ(system, text, "")
    assert not only_values_differ(system, None, OLD)
    assert not only_values_differ(system, text.replace("keepalive 16;", "keepalive 64;"), OLD)
    moved = dataclasses.replace(system.nginx, admin_socket=Path("/run/other.sock"))
    assert not only_values_differ(dataclasses.replace(system, nginx=moved), text, OLD)


# -- installing the copies ---------------------------------------------------------------------


def test_installed_renames_the_copies_and_restores_on_failure(
        managed: Config, tests_run: list[str]) -> None:
    old = install(managed)
    prepared = prepare(managed, live_routes(NEXT), 4, NEW, OLD)
    assert prepared is not None
    upstream = managed.nginx.upstream_file
    with pytest.raises(NginxError), nginx.installed(prepared.files, prepared.copies):
        assert upstream.read_text() == prepared.files[upstream]
        assert not staged.copy_path(upstream).exists(), "renamed, not copied"
        raise NginxError("reload not confirmed")
    assert upstream.read_text() == old[upstream]
