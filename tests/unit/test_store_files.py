"""store.files.create_new: a file written whole, and only where there was none."""

from __future__ import annotations

from pathlib import Path

import pytest

from bluegreen_local.model.errors import StateError
from bluegreen_local.store.files import create_new


def test_a_new_file_is_written_whole_with_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "up.conf"
    assert create_new(target, "upstream u { server 127.0.0.1:1 down; }\n", mode=0o644)
    assert target.read_text() == "upstream u { server 127.0.0.1:1 down; }\n"
    assert target.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["up.conf"]  # no temp file left


def test_an_existing_file_is_left_alone(tmp_path: Path) -> None:
    target = tmp_path / "up.conf"
    target.write_text("the real one\n")
    assert not create_new(target, "placeholder\n")
    assert target.read_text() == "the real one\n"
    assert [p.name for p in tmp_path.iterdir()] == ["up.conf"]


def test_a_dangling_symlink_counts_as_a_file(tmp_path: Path) -> None:
    target = tmp_path / "up.conf"
    target.symlink_to(tmp_path / "nowhere")
    assert not create_new(target, "placeholder\n")
    assert not (tmp_path / "nowhere").exists()


def test_a_missing_folder_is_our_error(tmp_path: Path) -> None:
    with pytest.raises(StateError, match="cannot write"):
        create_new(tmp_path / "missing" / "up.conf", "x")
