"""A release's identity: its version plus a digest of how it starts.

Deploying the version that is live again is a no-op only when it would start the same way:
a changed `env`, `command`, `workdir` or runner makes a new release (the issue an operator
hits: edit the env, deploy, "unchanged"). The settings behind each digest are kept in the
state directory, so `rollback --to VERSION` can start an older release exactly as it ran.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace

from bluegreen_local.config.model import AppConfig, Config
from bluegreen_local.model.types import RunnerKind

DIGEST_CHARS = 12  # status shows the first 7, like a short git hash


@dataclass(frozen=True, slots=True)
class StartSettings:
    """What decides how a version starts (ports and timeouts do not: they are not the app)."""

    runner: RunnerKind
    command: tuple[str, ...]
    workdir: str | None
    env: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, app: AppConfig) -> StartSettings:
        return cls(app.runner, app.command, app.workdir, app.env)

    def to_json(self) -> dict[str, object]:
        return {"runner": self.runner.value, "command": list(self.command),
                "workdir": self.workdir, "env": [list(pair) for pair in self.env]}

    @classmethod
    def from_json(cls, raw: object) -> StartSettings:
        """Parse a kept record; ValueError/TypeError/KeyError when it is not one."""
        if not isinstance(raw, dict):
            raise TypeError("not an object")
        command, workdir, env = raw["command"], raw["workdir"], raw["env"]
        if not (isinstance(command, list) and command and all(isinstance(a, str) for a in command)):
            raise ValueError("command must be a list of strings")
        if workdir is not None and not isinstance(workdir, str):
            raise ValueError("workdir must be a string or null")
        pairs = tuple(tuple(pair) for pair in env)
        if not all(len(p) == 2 and all(isinstance(x, str) for x in p) for p in pairs):
            raise ValueError("env must be [name, value] pairs of strings")
        return cls(RunnerKind(raw["runner"]), tuple(command), workdir,
                   tuple((p[0], p[1]) for p in pairs))

    @property
    def digest(self) -> str:
        text = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:DIGEST_CHARS]

    def apply(self, config: Config) -> Config:
        """The config with these start settings in place of its own."""
        app = replace(config.app, runner=self.runner, command=self.command,
                      workdir=self.workdir, env=self.env)
        return replace(config, app=app)


def start_digest(config: Config) -> str:
    return StartSettings.of(config.app).digest
