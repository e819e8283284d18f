"""Release identity: the digest of the start settings, and the kept records behind it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bluegreen_local.config.identity import StartSettings
from bluegreen_local.model.types import RunnerKind
from bluegreen_local.store import releases

BASE = StartSettings(RunnerKind.PROCESS, ("app", "--port", "{port}"), None, (("A", "1"),))


def test_the_digest_follows_every_start_setting() -> None:
    others = [
        StartSettings(RunnerKind.PROCESS, ("app", "--port", "{port}", "-v"), None, (("A", "1"),)),
        StartSettings(RunnerKind.PROCESS, ("app", "--port", "{port}"), "/srv", (("A", "1"),)),
        StartSettings(RunnerKind.PROCESS, ("app", "--port", "{port}"), None, (("A", "2"),)),
    ]
    digests = {BASE.digest, *(o.digest for o in others)}
    assert len(digests) == 4 and all(len(d) == 12 for d in digests)
    assert StartSettings.from_json(BASE.to_json()) == BASE


def test_releases_keep_and_recall(tmp_path: Path) -> None:
    digest = releases.remember(tmp_path, BASE)
    path = tmp_path / "releases" / f"{digest}.json"
    assert path.stat().st_mode & 0o777 == 0o600  # env values may be secrets
    assert releases.recall(tmp_path, digest) == BASE
    path.write_text('{"runner": "process", "command": [], "workdir": null, "env": []}')
    assert releases.recall(tmp_path, digest) is None  # not what the digest names
    assert releases.recall(tmp_path, "0" * 12) is None


@pytest.mark.parametrize("bad", ["../x", "ABCDEF012345", "12", "0123456789ab/"])
def test_a_digest_never_names_another_path(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError):
        releases.remember(tmp_path, BASE) and releases._path(tmp_path, bad)
