"""Fixtures shared by the unit tests: a valid config file whose state lives in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    """A valid managed-mode bluegreen.toml with state_dir inside tmp_path."""
    path = tmp_path / "bluegreen.toml"
    path.write_text(
        f'state_dir = "{tmp_path / "state"}"\n'
        "[app]\n"
        'name = "web"\n'
        'command = "python3 app.py --port {port}"\n',
        encoding="utf-8",
    )
    return path


@pytest.fixture
def no_config_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Run from an empty folder with $BLUEGREEN_CONFIG unset; returns that folder."""
    monkeypatch.delenv("BLUEGREEN_CONFIG", raising=False)
    folder = tmp_path / "cwd"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder
