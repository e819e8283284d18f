"""The one door to external commands: argv lists, no shell, output captured, errors typed."""

from __future__ import annotations

import logging
import shlex
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bluegreen_local.model.errors import CommandError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Completed:
    """A finished command: its argv, exit status and combined output."""

    argv: tuple[str, ...]
    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def run(
    argv: Sequence[str],
    *,
    timeout: float = 30.0,
    check: bool = True,
    env: Mapping[str, str] | None = None,
) -> Completed:
    """Run argv to completion; raise CommandError if it cannot run, times out or (check) fails."""
    shown = shlex.join(argv)
    log.debug("run: %s", shown)
    try:
        done = subprocess.run(  # noqa: S603 - argv list, never a shell
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=timeout,
            env=dict(env) if env is not None else None,
            check=False,
            # Ctrl-C reaches the whole foreground process group; while the switch defers
            # signals, a child such as `nginx -t` must not die of it.
            start_new_session=True,
        )
    except FileNotFoundError:
        raise CommandError(f"{argv[0]}: command not found (while running `{shown}`)") from None
    except PermissionError:
        raise CommandError(f"{argv[0]}: permission denied (while running `{shown}`)") from None
    except subprocess.TimeoutExpired as exc:
        output = _text(exc.output)
        raise CommandError(f"`{shown}` did not finish within {timeout:g}s", output=output) from None
    result = Completed(tuple(argv), done.returncode, _text(done.stdout))
    if check and not result.ok:
        raise CommandError(
            f"`{shown}` failed with exit status {result.returncode}", output=result.output
        )
    return result


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    if isinstance(data, str):
        return data
    return data.decode("utf-8", errors="replace")
