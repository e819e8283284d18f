"""System mode's part of `check`: the upstream file exists before a site names it, nginx reads
it, and some enabled site proxies to it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

from bluegreen_local import nginx
from bluegreen_local.config.model import Config
from bluegreen_local.model.errors import BlueGreenError, NginxError, UsageError
from bluegreen_local.model.results import CheckItem
from bluegreen_local.model.types import Mode, Release
from bluegreen_local.nginx import sites
from bluegreen_local.nginx.files import create_placeholder, is_placeholder

UPSTREAM: Final = "upstream file"
# The first line of every upstream file bluegreen writes (the templates' header).
_OWNER_RE: Final = re.compile(r'# Managed by bluegreen-local for app "([^"]+)"\.')


def site_snippet(config: Config) -> str:
    """The location block to add to a site; there is none to add in managed mode."""
    if config.nginx.mode is not Mode.SYSTEM:
        raise UsageError(
            "the site snippet is for system mode; the managed nginx needs none",
            failed="no site snippet in managed mode", unchanged="Nothing was changed.",
            next_step='set nginx.mode = "system" to proxy from your own nginx')
    return nginx.render_site_snippet(config)


def upstream_item(config: Config, live: Release | None) -> CheckItem:
    """Create the placeholder upstream file if there is none, else say whose the file is.

    Not while a version is live: nginx would take the placeholder at its next reload and
    stop serving it; `recover` writes the real file back."""
    path = config.nginx.upstream_file
    if live is not None and not path.exists():
        return CheckItem(UPSTREAM, False, f"{path} is missing while {live.version} is live on "
                         f"{live.slot}: run `bluegreen recover` to write it again")
    try:
        if create_placeholder(config):
            return CheckItem(UPSTREAM, True, f"created {path}: upstream {_name(config)}, no "
                             "version live yet (a site proxying to it answers 502 until the "
                             "first deploy)")
        text = path.read_text(encoding="utf-8")
    except BlueGreenError as exc:
        return CheckItem(UPSTREAM, False, f"{exc} (every deploy writes this file)")
    except (OSError, UnicodeDecodeError) as exc:
        return CheckItem(UPSTREAM, False, f"cannot read {path}: {exc}")
    return _whose(config, path, text)


def _whose(config: Config, path: Path, text: str) -> CheckItem:
    owner = _OWNER_RE.match(text)
    if owner is not None and owner.group(1) != config.app.name:
        return CheckItem(UPSTREAM, False, f"{path} belongs to the app {owner.group(1)!r}: "
                         "point nginx.upstream_file at a file of this app's own")
    found = nginx.parse_rendered(text)
    if found is not None:
        live = found.live
        return CheckItem(UPSTREAM, True, f"{path}: generation {found.token}, live {live.slot} "
                         f"({live.version}, port {live.port})")
    if is_placeholder(config, text):
        return CheckItem(UPSTREAM, True, f"{path}: the placeholder, no version live yet")
    name = _name(config)
    if any(d.words[:2] == ("upstream", name) for d in sites.parse_file(str(path), text)):
        return CheckItem(UPSTREAM, True, f"{path} defines upstream {name}, not written by "
                         "bluegreen: the first deploy replaces it", warning=True)
    return CheckItem(UPSTREAM, False, f"{path} exists, was not written by bluegreen and "
                     f"defines no upstream {name}: a deploy would replace it. Point "
                     "nginx.upstream_file at a file of its own")


def nginx_hint(config: Config, message: str) -> str:
    """What to do about the two refusals a half-done system-mode setup gets from nginx -t."""
    if f'host not found in upstream "{_name(config)}"' in message:
        return (f"{message}\nThe site names upstream {_name(config)}, which nginx does not "
                f"know: include {config.nginx.upstream_file} in the http block.")
    if 'duplicate location "/"' in message:
        return (f"{message}\nThe site has a `location /` of its own: replace it with the "
                "snippet (Debian's default site has one).")
    return message


def site_items(config: Config) -> list[CheckItem]:
    """From the configuration nginx parsed (`nginx -T`): does it read our upstream file, and
    does some enabled site proxy to that upstream? Without one, a deploy "works" and nobody
    is served by it."""
    argv = sites.dump_argv(config.nginx.test_command)
    if argv is None:
        return [CheckItem("site", True, "cannot tell which sites proxy to "
                          f"{_name(config)}: nginx.test_command has no -t to turn into -T",
                          warning=True)]
    try:
        dump = sites.read_dump(argv)
    except NginxError as exc:
        return [CheckItem("site", True, str(exc), warning=True)]
    return [_included(config, dump), _proxied(config, dump)]


def _included(config: Config, dump: sites.Dump) -> CheckItem:
    path = config.nginx.upstream_file
    if any(_same(path, Path(name)) for name in dump.files):
        return CheckItem("include", True, f"nginx reads {path}")
    return CheckItem("include", False, f"nginx does not read {path}: include it in the http "
                     "block (Debian's nginx.conf includes /etc/nginx/conf.d/*.conf)")


def _proxied(config: Config, dump: sites.Dump) -> CheckItem:
    name = _name(config)
    found = dump.proxies_to(name)
    if found:
        return CheckItem("site", True, f"proxy_pass http://{name} in "
                         + ", ".join(d.where for d in found))
    return CheckItem("site", True, f"no enabled site proxies to {name} (proxy_pass "
                     f"http://{name}): a deploy would serve nobody; add the snippet below "
                     "to a site", warning=True)


def _same(ours: Path, theirs: Path) -> bool:
    try:
        return ours.resolve() == theirs.resolve()
    except (OSError, RuntimeError):  # a symlink loop: not our file either
        return False


def _name(config: Config) -> str:
    return nginx.upstream_name(config)
