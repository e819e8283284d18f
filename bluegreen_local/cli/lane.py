"""The `bluegreen` command: a fast lane for `status --json`, the full CLI for everything else.

`bluegreen status --json` is what monitoring and playbooks poll, often every few seconds for
every app on a host. Loading typer and building its command tree cost 30-60 ms of a 200 ms run
on the bench machine, more than the status itself. So exactly that command line, `status
--json` with at most one config option, runs the same use case and the same JSON rendering
without typer. Any other command line, and any error in the lane, goes to the full CLI
(cli/app.py), which parses, runs and renders as usual; status changes nothing, so running it there
again is safe.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bluegreen_local.model.errors import BlueGreenError, ExitCode, Interrupted


def main() -> None:
    """Console-script entry point."""
    fast = status_json_config(sys.argv[1:])
    try:
        if fast is not None and _status_json(fast[0]):
            return
    except KeyboardInterrupt:
        _interrupted()
    from bluegreen_local.cli.app import main as full

    full()


def status_json_config(args: list[str]) -> tuple[Path | None] | None:
    """For `status --json [-c PATH | --config PATH | --config=PATH]` (options in any order),
    the config path given, if any, in a 1-tuple; None for every other command line."""
    if not args or args[0] != "status":
        return None
    rest, seen_json, path = args[1:], False, None
    while rest:
        arg = rest.pop(0)
        if arg == "--json" and not seen_json:
            seen_json = True
        elif arg in ("-c", "--config") and path is None and rest and rest[0]:
            path = rest.pop(0)
        elif arg.startswith("--config=") and path is None and len(arg) > len("--config="):
            path = arg.removeprefix("--config=")
        else:
            return None
    if not seen_json or (path is not None and path.startswith("-")):
        return None
    return (Path(path) if path is not None else None,)


def _status_json(path: Path | None) -> bool:
    """Print the status document; False, with nothing printed, if the full CLI must answer."""
    from bluegreen_local import config
    from bluegreen_local.cli.documents import dump, status_document
    from bluegreen_local.usecases import status as ops

    try:
        result = ops.status(config.load(path))
    except BlueGreenError:
        return False  # the full CLI reports it, with its exit code
    print(dump(status_document(result)))
    return True


def _interrupted() -> None:
    """What the full CLI answers to Ctrl-C under --json, without loading it."""
    from bluegreen_local.cli.documents import dump, error_document

    print(dump(error_document(Interrupted("interrupted"))))
    sys.stderr.write("error: interrupted\n")
    sys.exit(int(ExitCode.INTERRUPTED))
