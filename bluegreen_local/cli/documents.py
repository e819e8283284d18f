"""The --json documents: results (dataclasses) as indented JSON, shared by every entry."""

from __future__ import annotations

import dataclasses
import json


def document(value: object) -> str:
    return json.dumps(plain(value), indent=2)


def plain(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
