"""The files bluegreen owns: render, compare with disk, swap in and restore on failure."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from bluegreen_local.config.model import Config
from bluegreen_local.model.errors import BlueGreenError, StateError
from bluegreen_local.model.types import Mode, Release, Route, Slot, live_routes
from bluegreen_local.nginx import rendered, templating
from bluegreen_local.nginx.context import main_spec, upstream_name, upstream_spec
from bluegreen_local.nginx.control import main_conf
from bluegreen_local.nginx.rendered import Spec
from bluegreen_local.store.files import atomic_replace, atomic_write, create_new, ensure_dir


def render(spec: Spec) -> str:
    return templating.render(spec.template, **dict(spec.values))


def render_site_snippet(config: Config) -> str:
    """System mode: the location block that proxies a site to our upstream, with the lines
    that install it as comments (the whole text is valid inside a server block)."""
    return templating.render(
        "site-snippet.conf.j2",
        app=config.app.name,
        upstream=upstream_name(config),
        upstream_file=str(config.nginx.upstream_file),
    )


def render_placeholder(config: Config) -> str:
    """System mode, before the first deploy: the upstream with no server that takes traffic."""
    return templating.render("upstream-placeholder.conf.j2", app=config.app.name,
                             upstream=upstream_name(config), port=config.app.ports[0])


def create_placeholder(config: Config) -> bool:
    """Write the placeholder upstream file unless a file is there already (a deploy may be
    writing the real one right now); True if it was written.

    A site that proxies to our upstream fails `nginx -t` ("host not found in upstream") until
    the upstream is defined, so it must exist before the site refers to it; the first deploy
    replaces it like any earlier generation."""
    return create_new(config.nginx.upstream_file, render_placeholder(config), mode=0o644)


def is_placeholder(config: Config, text: str) -> bool:
    """Its header lines, which name the app and no port: app.ports may have changed since."""
    return text.splitlines()[:2] == render_placeholder(config).splitlines()[:2]


def write_trial(config: Config) -> None:
    """Write the managed config with a placeholder upstream, for `check` in a scratch prefix."""
    blue = Release(Slot.BLUE, config.app.ports[0], "check")
    for path, text in desired_files(config, live_routes(blue), "check").items():
        atomic_write(path, text, mode=0o644)


# -- files: swap in, restore on failure --------------------------------------------------------


def owned_paths(config: Config) -> list[Path]:
    """Where the files of file_specs go, whatever the topology and generation."""
    managed = config.nginx.mode is Mode.MANAGED
    return [config.nginx.upstream_file, *([main_conf(config)] if managed else [])]


def file_specs(config: Config, routes: tuple[Route, ...], token: str) -> list[Spec]:
    """Every file bluegreen owns, as it must be rendered for `routes` at generation `token`."""
    specs = [upstream_spec(config, routes, token)]
    if config.nginx.mode is Mode.MANAGED:
        specs.append(main_spec(config))
    return specs


def desired_files(config: Config, routes: tuple[Route, ...], token: str) -> dict[Path, str]:
    """Every file bluegreen owns, as it must read for `routes` at generation `token`."""
    return render_all(file_specs(config, routes, token))


def render_all(specs: list[Spec]) -> dict[Path, str]:
    return {spec.path: render(spec) for spec in specs}


def record_installed(config: Config, specs: list[Spec], files: Mapping[Path, str]) -> None:
    """Remember what was written, so files_current needs no rendering until it changes. Only
    a cache: if it cannot be written, files_current renders instead."""
    with contextlib.suppress(BlueGreenError):
        rendered.save(config.state_dir, specs, files)


def files_current(config: Config, routes: tuple[Route, ...], token: str) -> bool:
    """True when every file on disk already reads as the config calls for `routes` at
    `token`."""
    specs = file_specs(config, routes, token)
    known = rendered.matches(config.state_dir, specs)
    if known is not None:
        return known
    return all(_read(path) == text for path, text in render_all(specs).items())


@contextlib.contextmanager
def installed(files: Mapping[Path, str],
              staged: Mapping[Path, Path] | None = None) -> Iterator[None]:
    """Atomically write the files, or rename their `staged` copies (already holding the same
    text, fsynced) into place; if the block raises, put every old version back."""
    old = on_disk(files)
    copies = staged or {}
    written: list[Path] = []
    try:
        for path, text in files.items():
            if old[path] != text:
                _put(path, text, copies.get(path))
                written.append(path)
        yield
    except BaseException:
        for path in written:
            _restore(path, old[path])
        raise


def on_disk(paths: Iterable[Path]) -> dict[Path, str | None]:
    """What each file holds now; None for a missing one."""
    return {path: _read(path) for path in paths}


def _put(path: Path, text: str, copy: Path | None) -> None:
    if copy is None:
        ensure_dir(path.parent)
        atomic_write(path, text, mode=0o644)
    else:
        atomic_replace(copy, path)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StateError(f"cannot read {path}: {exc.strerror}") from None


def _restore(path: Path, text: str | None) -> None:
    if text is None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    else:
        atomic_write(path, text, mode=0o644)
