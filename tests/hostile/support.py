"""Hostile-input support: the live app under attack, and proof that nothing it owns changed."""

from __future__ import annotations

import os
from dataclasses import dataclass

import psutil
from integration.support import Project

# Bytes that must not change while a bad command runs. Logs are left out: the app and nginx
# write to them when the checks below send a request.
WATCHED = ("state.json", "history.jsonl", "lock", "nginx/conf/nginx.conf",
           "nginx/conf/upstream.conf")
# Folders whose listing may change without any command running (nginx's temp files, logs).
UNLISTED = ("logs", "nginx/logs", "nginx/tmp")


@dataclass(frozen=True)
class Snapshot:
    """What a refused command must leave exactly as it was."""

    files: tuple[tuple[str, bytes], ...]
    names: frozenset[str]
    slot_pid: int
    nginx_pid: int


def snapshot(proj: Project) -> Snapshot:
    root = proj.state_dir
    names = frozenset(
        str(path.relative_to(root)) for path in root.rglob("*")
        if not any(path.relative_to(root).is_relative_to(skip) for skip in UNLISTED))
    (slot_pid,) = proj.slot_pids()
    nginx_pid = proj.nginx_pid()
    assert nginx_pid is not None
    return Snapshot(tuple((name, (root / name).read_bytes()) for name in WATCHED), names,
                    slot_pid, nginx_pid)


@dataclass
class Live:
    """v1 live behind a real nginx, its good config, and the snapshot taken after the deploy."""

    project: Project
    good_config: str
    before: Snapshot

    def assert_untouched(self, *, locked: bool = False) -> None:
        """Nothing changed; with `locked`, a command took the lock (which records its holder),
        and the new holder becomes the baseline for the next checks."""
        after = snapshot(self.project)
        for (name, old), (_, new) in zip(self.before.files, after.files, strict=True):
            assert new == old or (locked and name == "lock"), f"{name} changed"
        assert after.names == self.before.names, "files appeared or vanished in the state dir"
        assert (after.slot_pid, after.nginx_pid) == (self.before.slot_pid, self.before.nginx_pid)
        for pid in (after.slot_pid, after.nginx_pid):
            assert psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        assert self.project.serve() == (200, "hello from v1\n")
        if locked:
            self.before = after

    def restore(self) -> None:
        """Put the good config back, owned by root (when we are root) and mode 0644."""
        config = self.project.config
        if config.is_dir():
            config.rmdir()
        config.write_text(self.good_config, encoding="utf-8")
        if os.geteuid() == 0:
            os.chown(config, 0, 0)
        config.chmod(0o644)
