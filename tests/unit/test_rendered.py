"""The record of written nginx files: it answers files_current only when it truly knows."""

from __future__ import annotations

import dataclasses
import json
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from bluegreen_local import config, nginx
from bluegreen_local.config import Config
from bluegreen_local.model.types import Release, Slot, live_routes
from bluegreen_local.nginx import rendered

LIVE = Release(Slot.BLUE, 7001, "v1")
TOKEN = "3-0badc0de"


@pytest.fixture
def cfg(tmp_path: Path) -> Config:
    text = (f'state_dir = "{tmp_path}/st"\n[app]\nname = "web"\n'
            'command = "app --port {port}"\nports = [7001, 7002]\n')
    return config.parse(text, tmp_path / "bluegreen.toml")


def install(cfg: Config, live: Release = LIVE, token: str = TOKEN) -> dict[Path, str]:
    """Write the files as a confirmed switch leaves them, with their record."""
    written = nginx.file_specs(cfg, live_routes(live), token)
    files = nginx.render_all(written)
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    nginx.record_installed(cfg, written, files)
    return files


def specs(cfg: Config, live: Release = LIVE, token: str = TOKEN) -> list[rendered.Spec]:
    return nginx.file_specs(cfg, live_routes(live), token)


def test_the_record_answers_for_untouched_files(cfg: Config) -> None:
    install(cfg)
    assert rendered.matches(cfg.state_dir, specs(cfg)) is True
    assert nginx.files_current(cfg, live_routes(LIVE), TOKEN)


def test_a_hand_edit_is_seen_through_the_record(cfg: Config) -> None:
    files = install(cfg)
    upstream = cfg.nginx.upstream_file
    upstream.write_text(files[upstream].replace("keepalive 16;", "keepalive 64;"))
    assert rendered.matches(cfg.state_dir, specs(cfg)) is False
    assert not nginx.files_current(cfg, live_routes(LIVE), TOKEN)


def test_a_deleted_file_is_not_current(cfg: Config) -> None:
    install(cfg)
    nginx.main_conf(cfg).unlink()
    assert not nginx.files_current(cfg, live_routes(LIVE), TOKEN)


@pytest.mark.parametrize("change", ["token", "live", "config"])
def test_other_inputs_make_the_record_silent_and_rendering_decides(
    cfg: Config, change: str
) -> None:
    install(cfg)
    live, token, other = LIVE, TOKEN, cfg
    if change == "token":
        token = "4-feedf00d"
    elif change == "live":
        live = Release(Slot.GREEN, 7002, "v2")
    else:
        other = dataclasses.replace(cfg, drain=dataclasses.replace(cfg.drain, timeout=99.0))
    assert rendered.matches(other.state_dir, specs(other, live, token)) is None
    assert not nginx.files_current(other, live_routes(live), token)


def test_without_a_record_rendering_decides(cfg: Config) -> None:
    install(cfg)
    (cfg.state_dir / rendered.RECORD).unlink()
    assert rendered.matches(cfg.state_dir, specs(cfg)) is None
    assert nginx.files_current(cfg, live_routes(LIVE), TOKEN)


@pytest.mark.parametrize("text", ["", "{", "[]", '{"version": 1}', '{"version": 99}',
                                  '{"version": 1, "key": "x", "files": []}'])
def test_a_damaged_record_is_ignored(cfg: Config, text: str) -> None:
    install(cfg)
    (cfg.state_dir / rendered.RECORD).write_text(text)
    assert rendered.matches(cfg.state_dir, specs(cfg)) is None
    assert nginx.files_current(cfg, live_routes(LIVE), TOKEN)


def test_a_record_claiming_other_files_is_ignored(cfg: Config) -> None:
    install(cfg)
    path = cfg.state_dir / rendered.RECORD
    record = json.loads(path.read_text())
    record["files"] = {"/etc/passwd": "0" * 64}
    path.write_text(json.dumps(record))
    assert rendered.matches(cfg.state_dir, specs(cfg)) is None


def test_checking_through_the_record_does_not_import_jinja2(cfg: Config) -> None:
    """What makes `status` and a no-op deploy fast: no template engine to load."""
    install(cfg)
    code = ("import pickle, sys\nfrom bluegreen_local import nginx\n"
            "cfg, live, token = pickle.loads(sys.stdin.buffer.read())\n"
            "print(nginx.files_current(cfg, live, token), 'jinja2' in sys.modules)\n")
    data = pickle.dumps((cfg, live_routes(LIVE), TOKEN))
    done = subprocess.run([sys.executable, "-c", code], input=data,
                          capture_output=True, check=True)
    assert done.stdout.split() == [b"True", b"False"]
