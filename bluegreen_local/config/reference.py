"""The README's table of every config key, generated from the getters that read the keys."""

from __future__ import annotations

import json
from typing import Final

from bluegreen_local.config.loader import key_docs
from bluegreen_local.config.reader import REQUIRED, KeyDoc, Shown

BEGIN: Final = ("<!-- config reference: generated from bluegreen_local/config by "
                "`make config-reference`; edit the docs there, not here -->")
END: Final = "<!-- end of config reference -->"
HEADER: Final = "| key | default | what it sets |\n| --- | --- | --- |\n"


def markdown() -> str:
    """The table, set off by blank lines from the markers: top-level keys first, then each
    table's heading row and its keys."""
    docs = sorted(key_docs(), key=lambda d: "." in d.key or d.table)
    return "\n" + HEADER + "".join(_row(doc) for doc in docs) + "\n"


def _row(doc: KeyDoc) -> str:
    key = f"**`[{doc.key}]`**" if doc.table else f"`{doc.key}`"
    default = "optional" if doc.table and doc.default is None else _default(doc.default)
    return f"| {key} | {_cell(default)} | {_cell(doc.doc)} |\n"


def _default(value: object) -> str:
    if value is REQUIRED:
        return "required"
    if value is None:
        return "not set"
    if isinstance(value, Shown):
        return value.text
    return f"`{_toml(value)}`"


def _toml(value: object) -> str:
    """A default as it would be written in bluegreen.toml."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }" \
            if value else "{}"
    return json.dumps(value) if isinstance(value, str) else str(value)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def section(readme: str) -> str | None:
    """The generated part of the README (between the markers), or None without them."""
    _, begin, rest = readme.partition(BEGIN + "\n")
    body, end, _ = rest.partition(END)
    return body if begin and end else None


def splice(readme: str, table: str) -> str | None:
    """The README with `table` between the markers, or None without them."""
    if section(readme) is None:
        return None
    head, _, rest = readme.partition(BEGIN + "\n")
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{table}{END}{tail}"
