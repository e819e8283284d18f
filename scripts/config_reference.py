"""Rewrite the README's config reference from the config schema (`make config-reference`).

`--check` changes nothing and exits 1 when the README is out of date.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bluegreen_local.config import reference

README = Path(__file__).resolve().parent.parent / "README.md"


def main(argv: list[str]) -> int:
    text = README.read_text(encoding="utf-8")
    updated = reference.splice(text, reference.markdown())
    if updated is None:
        print(f"{README}: the config reference markers are missing:\n"
              f"{reference.BEGIN}\n{reference.END}", file=sys.stderr)
        return 1
    if updated == text:
        print(f"{README.name}: the config reference is up to date")
        return 0
    if "--check" in argv:
        print(f"{README.name}: the config reference is out of date; run `make "
              "config-reference`", file=sys.stderr)
        return 1
    README.write_text(updated, encoding="utf-8")
    print(f"{README.name}: config reference rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
