"""Test-suite set-up: the example app and load client live in examples/ (the demo uses them)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
