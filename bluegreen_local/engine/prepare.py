"""Prepare the switch while the new version boots: render, stage and test the next nginx files.

The next files depend only on the target slot, its port and the next generation, all known
before the new version starts, so the switch itself only renames, reloads and confirms.

Managed mode tests the staged files as nginx will read them after the rename: `nginx -t -c`
on a copy of the main file that includes the staged upstream file. System mode cannot: the
operator's test_command reads the whole system config, which includes the real upstream
path, so a copy is never read. There the test is skipped when the file on disk is the one
nginx last confirmed and would render again byte for byte from its own header: the next file
then differs from it only in values we render and validate ourselves (the route's port, the
generation token, the confirm socket named after it). Anything else is tested at the switch,
as before. Skipping is safe because confirm() proves a reload by the generation nginx serves
and by its error log, and the switch puts the old file back when that fails: a file nginx
would refuse costs a refused reload (nginx keeps serving the old one), not traffic.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from bluegreen_local import nginx
from bluegreen_local.config.model import Config
from bluegreen_local.model.errors import BlueGreenError, NginxError
from bluegreen_local.model.types import Mode, Route
from bluegreen_local.nginx import managed, rendered, staged
from bluegreen_local.nginx.files import on_disk
from bluegreen_local.nginx.rendered import Spec
from bluegreen_local.nginx.templating import nginx_safe
from bluegreen_local.store.files import atomic_write
from bluegreen_local.store.state import State

log = logging.getLogger(__name__)

Reader = Callable[[Iterable[Path]], Mapping[Path, str | None]]


@dataclass(frozen=True, slots=True)
class Prepared:
    """The nginx files for the topology `routes` at generation `token`, staged beside the
    real ones."""

    routes: tuple[Route, ...]
    generation: int
    token: str
    replaces: str  # the confirmed generation (state's token) these files follow
    key: str  # rendered.key of their specs: the same key renders the same bytes
    files: Mapping[Path, str]  # every file bluegreen owns, as it must read
    before: Mapping[Path, str | None]  # those files on disk when the copies were staged
    copies: Mapping[Path, Path]  # real path -> staged copy, for each file that changes
    tested: bool  # True: no `nginx -t` is left for the switch to run


def prepare(config: Config, routes: tuple[Route, ...], generation: int, token: str,
            replaces: str) -> Prepared | None:
    """Render, stage and test the next files; None when that fails (nginx refused them, or
    they could not be written). The switch then renders, writes and tests them as it would
    without preparation, so it fails, if it must, with the same message it always gave."""
    try:
        return _stage(config, routes, generation, token, replaces)
    except (BlueGreenError, OSError) as exc:
        log.info("switch not prepared, it will render and test itself: %s", exc)
        staged.discard(config)
        return None


def next_generation(st: State, prepared: Prepared | None) -> tuple[int, str]:
    """The generation a switch installs: the one its files were prepared for, else a new one."""
    return (prepared.generation, prepared.token) if prepared else st.next_generation()


def usable(prepared: Prepared | None, specs: Sequence[Spec], replaces: str,
           read: Reader = on_disk) -> bool:
    """May the switch install `prepared` as staged? Only if the same bytes would render now
    (the key covers the templates and every value, routes and token included), it follows
    the same confirmed generation, no file on disk changed since staging, and every staged
    copy still holds its text."""
    if prepared is None or prepared.replaces != replaces or prepared.key != rendered.key(specs):
        return False
    if dict(read(prepared.before)) != dict(prepared.before):
        return False
    found = read(prepared.copies.values())
    return all(found[copy] == prepared.files[path] for path, copy in prepared.copies.items())


def only_values_differ(config: Config, current: str | None, replaces: str) -> bool:
    """System mode: is the upstream file on disk the confirmed generation `replaces`, exactly
    as we would render it now? Then nginx accepted everything in it but the values the next
    file changes (port, token, confirm socket), which we render and validate ourselves."""
    found = nginx.parse_rendered(current) if current is not None else None
    if found is None or not replaces or found.token != replaces:
        return False
    return nginx.render(nginx.upstream_spec(config, found.routes, found.token)) == current


def _stage(config: Config, routes: tuple[Route, ...], generation: int, token: str,
           replaces: str) -> Prepared:
    specs = nginx.file_specs(config, routes, token)
    files = nginx.render_all(specs)
    if config.nginx.mode is Mode.MANAGED:
        managed.prepare_prefix(config)
    before = on_disk(files)
    staged.discard(config)  # copies of a run killed before its switch
    copies = staged.write({path: text for path, text in files.items() if before[path] != text})
    if config.nginx.mode is Mode.MANAGED:
        _test_staged(config, specs, copies)
        tested = True
    else:
        tested = only_values_differ(config, before[config.nginx.upstream_file], replaces)
    return Prepared(routes, generation, token, replaces, rendered.key(specs), files, before,
                    copies, tested)


def _test_staged(config: Config, specs: Sequence[Spec], copies: Mapping[Path, Path]) -> None:
    """`nginx -t` on a copy of the main file that includes the staged upstream file: the
    staged main file itself includes the real path, where the staged upstream file goes."""
    main = next(spec for spec in specs if spec.path == nginx.main_conf(config))
    upstream = config.nginx.upstream_file
    include = str(copies.get(upstream, upstream))
    values = tuple((name, nginx_safe(include) if name == "upstream_file" else value)
                   for name, value in main.values)
    text = nginx.render(replace(main, values=values))
    if include not in text:  # main_spec changed shape: this test would not cover the copy
        raise NginxError(f"the test copy of {main.path} does not include {include}")
    path = staged.test_path(main.path)
    atomic_write(path, text, mode=0o644, durable=False)  # read by this test only
    try:
        nginx.test(config, path)
    finally:
        path.unlink(missing_ok=True)
