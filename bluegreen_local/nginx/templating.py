"""One strict jinja2 environment for the nginx templates shipped with the package."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Final

from bluegreen_local.model.errors import NginxError

if TYPE_CHECKING:
    import jinja2

# Inside the wheel the templates sit in the package; in a source checkout, at the repo top.
_PACKAGE: Final = Path(__file__).resolve().parent.parent
_CANDIDATES: Final = (_PACKAGE / "templates", _PACKAGE.parent / "templates")
# What may appear in a value rendered into nginx syntax: no spaces, quotes, ; { } $ or #.
NGINX_SAFE_RE: Final = re.compile(r"[A-Za-z0-9_./:@+\-\[\]*]+")


@dataclass(frozen=True, slots=True)
class ServerLine:
    """One `server` line of the upstream: a slot port, its weight and role."""

    port: int
    weight: int = 1
    backup: bool = False


def template_dir() -> Path:
    for candidate in _CANDIDATES:
        if (candidate / "upstream.conf.j2").is_file():
            return candidate
    raise NginxError("nginx templates not found: the installation is incomplete; reinstall it")


@cache
def environment() -> jinja2.Environment:
    # Imported here: checks answered from the record (rendered.py) never need jinja2.
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(template_dir()),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        # nginx syntax, not HTML: escaping would corrupt it; values are validated instead.
        autoescape=False,  # noqa: S701
    )


def render(template: str, **context: object) -> str:
    """Render a template; every value must pass NGINX_SAFE_RE (checked by the caller's types)."""
    import jinja2

    try:
        return environment().get_template(template).render(**context)
    except jinja2.TemplateError as exc:
        line = getattr(exc, "lineno", None)
        where = f"{template}:{line}" if line else template
        raise NginxError(f"cannot render template {where}: {exc}") from None


def nginx_safe(value: str) -> str:
    """Refuse a value that could change nginx syntax (defence in depth behind config checks)."""
    if not NGINX_SAFE_RE.fullmatch(value):
        raise NginxError(f"refusing to write {value!r} into an nginx file: unsafe characters")
    return value
