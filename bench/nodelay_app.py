"""Run examples/app.py with TCP_NODELAY on its connections, for every contender alike.

The example app writes the response head and body in two send() calls. On a keep-alive
connection (nginx keeps upstream connections open) Nagle's algorithm holds the body until nginx
ACKs the head, and nginx delays that ACK: every request then waits about 40 ms. That stall would
swamp every latency figure, so the bench switches Nagle off; the app is otherwise unchanged.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "examples" / "app.py"


def main() -> int:
    spec = importlib.util.spec_from_file_location("example_app", APP)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.Handler.disable_nagle_algorithm = True
    code: int = module.main(sys.argv[1:])
    return code


if __name__ == "__main__":
    sys.exit(main())
