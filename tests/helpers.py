"""Helpers every test folder shares: paths, and finding tools (fail, not skip, in CI)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REQUIRE_ALL = os.environ.get("BLUEGREEN_REQUIRE_ALL") == "1"
REPO = Path(__file__).resolve().parent.parent


def require_tool(name: str) -> str:
    """The tool's path; skip when it is missing, or fail under BLUEGREEN_REQUIRE_ALL=1."""
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    found = shutil.which(name, path=search)
    if found:
        return found
    message = f"{name} is not installed (apt-get install {name})"
    if REQUIRE_ALL:
        pytest.fail(f"BLUEGREEN_REQUIRE_ALL=1 and {message}", pytrace=False)
    pytest.skip(message)


def executable(path: Path, body: str = "exit 0") -> Path:
    """A shell script at `path` (folders created), mode 0755."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path
