"""nginx adapter: render configs, test, reload, and confirm a reload by what nginx serves."""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import re
import signal
import socket
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import psutil

from bluegreen_local import proc, pstree, rendered, templating
from bluegreen_local.config import Config
from bluegreen_local.errors import BlueGreenError, CommandError, NginxError, StateError
from bluegreen_local.models import Mode, Release, Slot
from bluegreen_local.rendered import Spec
from bluegreen_local.state import atomic_write, ensure_dir
from bluegreen_local.templating import ServerLine, nginx_safe

ADMIN_PATH: Final = "/generation"
BAD_LOG_LEVELS: Final = ("[emerg]", "[alert]")
EMERG_GRACE: Final = 3.0
CONFIRM_POLL: Final = 0.001


@dataclass(frozen=True, slots=True)
class Worker:
    """An nginx child process; pid plus create time survive pid reuse."""

    pid: int
    create_time: float


def upstream_name(config: Config) -> str:
    return f"bluegreen_{config.app.name.replace('-', '_')}"


@dataclass(frozen=True, slots=True)
class Rendered:
    """What the upstream file on disk says: its generation and the live release."""

    token: str
    live: Release


_HEADER_RE: Final = re.compile(
    r"^# generation (\S+): live (blue|green) \(version (\S+), port (\d+)\)$", re.MULTILINE)


def parse_rendered(text: str) -> Rendered | None:
    """Read the header the upstream template writes; None if the file is not ours or was edited."""
    match = _HEADER_RE.search(text)
    if match is None:
        return None
    token, slot, version, port = match.groups()
    return Rendered(token, Release(Slot(slot), int(port), version))


def read_rendered(config: Config) -> Rendered | None:
    try:
        return parse_rendered(config.nginx.upstream_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return None


def generation_var(config: Config) -> str:
    """The map variable holding the generation: short and unique per app, because nginx's
    variables hash (bucket size 64 by default) refuses long names."""
    digest = hashlib.sha256(config.app.name.encode()).hexdigest()[:12]
    return f"bluegreen_gen_{digest}"


def confirm_socket(config: Config, token: str) -> Path:
    """The admin socket of one generation. During a reload nginx's old workers keep accepting
    on shared sockets for about 100 ms, so a probe there can get the old answer; they never
    listen on this one, which nginx creates with the new configuration and deletes with it."""
    admin = config.nginx.admin_socket
    # Only the random part, so the path stays short; the answer must still be the whole token.
    return admin.with_name(f"{admin.name}.{token.rsplit('-', 1)[-1]}")


def upstream_spec(config: Config, live: Release, token: str) -> Spec:
    """The file bluegreen owns: upstream to the live slot plus the generation endpoint."""
    return _spec(
        config.nginx.upstream_file, "upstream.conf.j2",
        app=config.app.name,
        generation=nginx_safe(token),
        generation_var=generation_var(config),
        live=live,
        upstream=upstream_name(config),
        servers=[ServerLine(live.port)],
        admin_socket=nginx_safe(str(config.nginx.admin_socket)),
        confirm_socket=nginx_safe(str(confirm_socket(config, token))),
    )


def main_spec(config: Config) -> Spec:
    """The managed nginx's nginx.conf."""
    return _spec(
        main_conf(config), "nginx.conf.j2",
        app=config.app.name,
        prefix=nginx_safe(str(config.nginx_prefix)),
        worker_processes="auto",
        # Past the drain timeout the old slot gets SIGTERM and may finish its requests within
        # stop_timeout; the old workers must outlive that to carry the answers back.
        shutdown_timeout=f"{math.ceil(config.drain.timeout + config.app.stop_timeout) + 5}s",
        listen=nginx_safe(config.nginx.listen),
        upstream=upstream_name(config),
        upstream_file=nginx_safe(str(config.nginx.upstream_file)),
    )


def _spec(path: Path, template: str, **values: object) -> Spec:
    return Spec(path, template, tuple(values.items()))


def render(spec: Spec) -> str:
    return templating.render(spec.template, **dict(spec.values))


def render_site_snippet(config: Config) -> str:
    return templating.render(
        "site-snippet.conf.j2",
        upstream=upstream_name(config),
        upstream_file=str(config.nginx.upstream_file),
    )


def main_conf(config: Config) -> Path:
    return config.nginx_prefix / "conf/nginx.conf"


def managed_argv(config: Config, *extra: str) -> list[str]:
    """The managed nginx command line; -p/-c/-e must be the same on every call."""
    prefix = config.nginx_prefix
    return [config.nginx.binary, "-p", f"{prefix}/", "-c", str(main_conf(config)),
            "-e", str(prefix / "logs/error.log"), *extra]


def test_argv(config: Config) -> list[str]:
    if config.nginx.mode is Mode.MANAGED:
        return managed_argv(config, "-t", "-q")
    return list(config.nginx.test_command)


def test(config: Config) -> None:
    """Run `nginx -t`; raise NginxError with nginx's own words if the config is refused."""
    try:
        result = proc.run(test_argv(config), timeout=30, check=False)
    except CommandError as exc:
        raise NginxError(f"cannot test the nginx configuration: {exc}") from None
    if not result.ok:
        raise NginxError(f"nginx refused the configuration:\n{_indent(result.output)}")


def write_trial(config: Config) -> None:
    """Write the managed config with a placeholder upstream, for `check` in a scratch prefix."""
    blue = Release(Slot.BLUE, config.app.ports[0], "check")
    for path, text in desired_files(config, blue, "check").items():
        atomic_write(path, text, mode=0o644)


# -- files: swap in, restore on failure --------------------------------------------------------


def file_specs(config: Config, live: Release, token: str) -> list[Spec]:
    """Every file bluegreen owns, as it must be rendered for `live` at generation `token`."""
    specs = [upstream_spec(config, live, token)]
    if config.nginx.mode is Mode.MANAGED:
        specs.append(main_spec(config))
    return specs


def prepare_render(config: Config) -> None:
    """Load the template engine and templates ahead of the switch (see templating.warm)."""
    managed = config.nginx.mode is Mode.MANAGED
    templating.warm("upstream.conf.j2", *(["nginx.conf.j2"] if managed else []))


def desired_files(config: Config, live: Release, token: str) -> dict[Path, str]:
    """Every file bluegreen owns, as it must read for `live` at generation `token`."""
    return render_all(file_specs(config, live, token))


def render_all(specs: list[Spec]) -> dict[Path, str]:
    return {spec.path: render(spec) for spec in specs}


def record_installed(config: Config, specs: list[Spec], files: Mapping[Path, str]) -> None:
    """Remember what was written, so files_current needs no rendering until it changes. Only
    a cache: if it cannot be written, files_current renders instead."""
    with contextlib.suppress(BlueGreenError):
        rendered.save(config.state_dir, specs, files)


def files_current(config: Config, live: Release, token: str) -> bool:
    """True when every file on disk already reads as the config calls for `live` at `token`."""
    specs = file_specs(config, live, token)
    known = rendered.matches(config.state_dir, specs)
    if known is not None:
        return known
    return all(_read(path) == text for path, text in render_all(specs).items())


@contextlib.contextmanager
def installed(files: Mapping[Path, str]) -> Iterator[None]:
    """Atomically write the files; if the block raises, put every old version back."""
    old: dict[Path, str | None] = {path: _read(path) for path in files}
    written: list[Path] = []
    try:
        for path, text in files.items():
            if old[path] != text:
                ensure_dir(path.parent)
                atomic_write(path, text, mode=0o644)
                written.append(path)
        yield
    except BaseException:
        for path in written:
            _restore(path, old[path])
        raise


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


# -- the running master ------------------------------------------------------------------------


def master_pid(config: Config) -> int | None:
    """The nginx master's pid from its pid file, if that process is alive and is ours.

    A pid file outlives a crash and its pid can be reused, even by another nginx: in managed
    mode the master's command line must name our own config file.
    """
    try:
        pid = int(config.nginx.pid_file.read_text().strip())
        process = psutil.Process(pid)
        alive = process.status() != psutil.STATUS_ZOMBIE and "nginx" in process.name()
        if alive and config.nginx.mode is Mode.MANAGED:
            alive = str(main_conf(config)) in " ".join(process.cmdline())
    except (OSError, ValueError, psutil.Error):
        return None
    return pid if alive else None


def workers(master: int) -> set[Worker]:
    found = set()
    for pid in pstree.child_pids(master):
        with contextlib.suppress(psutil.Error):
            found.add(Worker(pid, psutil.Process(pid).create_time()))
    return found


def worker_alive(worker: Worker) -> bool:
    try:
        process = psutil.Process(worker.pid)
        return (abs(process.create_time() - worker.create_time) < 0.05
                and process.status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


def signal_reload(config: Config, master: int) -> None:
    """Ask nginx to reload: SIGHUP to the master (what `nginx -s reload` sends), or the
    configured system reload_command."""
    command = config.nginx.reload_command
    if config.nginx.mode is Mode.MANAGED or command is None:
        try:
            os.kill(master, signal.SIGHUP)
        except OSError as exc:
            hint = ("" if config.nginx.mode is Mode.MANAGED else
                    "; set nginx.reload_command (e.g. \"sudo -n systemctl reload nginx\") if "
                    "this user may not signal it")
            raise NginxError(f"cannot signal nginx master {master}: {exc.strerror}{hint}"
                             ) from None
        return
    try:
        proc.run(command, timeout=30)
    except CommandError as exc:
        raise NginxError(f"the reload command failed: {exc}\n{_indent(exc.output)}") from None


# -- confirmation by behaviour -------------------------------------------------------------------


def served_generation(admin_socket: Path, timeout: float = 1.0) -> str | None:
    """The generation nginx serves on the admin socket, on a fresh connection; None if none."""
    request = b"GET " + ADMIN_PATH.encode() + b" HTTP/1.0\r\nHost: bluegreen\r\n\r\n"
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(admin_socket))
            sock.sendall(request)
            return parse_generation_response(_read_all(sock))
    except OSError:
        return None


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(4096):
        chunks.append(chunk)
    return b"".join(chunks)


def parse_generation_response(raw: bytes) -> str | None:
    """The body of a 200 response, stripped; None for anything else."""
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].split()
    if len(status_line) < 2 or status_line[1] != b"200":
        return None
    return body.decode("ascii", errors="replace").strip() or None


def log_size(config: Config) -> int:
    path = config.nginx.error_log
    try:
        return path.stat().st_size if path else 0
    except OSError:
        return 0


def new_log_errors(config: Config, offset: int) -> list[str]:
    """[emerg]/[alert] lines nginx wrote to its error log after `offset`."""
    path = config.nginx.error_log
    if path is None:
        return []
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            text = handle.read(1 << 20).decode("utf-8", errors="replace")
    except OSError:
        return []
    return [line for line in text.splitlines() if any(b in line for b in BAD_LOG_LEVELS)]


def confirm(config: Config, master: int, before: set[Worker], token: str, offset: int) -> None:
    """Wait until nginx serves `token` from new workers; raise NginxError on refusal or timeout."""
    deadline = time.monotonic() + config.nginx.reload_timeout
    sock = confirm_socket(config, token)
    errors: list[str] = []
    polls = 0
    while True:
        # Until the master has parsed the files the socket does not exist (a cheap refusal);
        # once it does, the connection waits in its backlog for a new worker to answer.
        if served_generation(sock) == token:
            return
        polls += 1
        if not errors and polls % 20 == 0 and (errors := new_log_errors(config, offset)):
            # nginx retries a failed bind() for about 2.5 s before it gives up and keeps the
            # old configuration: wait that out, so the outcome is settled when we report it.
            deadline = min(deadline, time.monotonic() + EMERG_GRACE)
        if time.monotonic() > deadline and errors:
            raise NginxError("nginx did not load the new configuration:\n" + _indent(
                "\n".join(errors[-5:])))
        if time.monotonic() > deadline:
            served = served_generation(config.nginx.admin_socket)
            fresh = len(workers(master) - before)
            raise NginxError(
                f"nginx did not load the new configuration within "
                f"{config.nginx.reload_timeout:g}s (it serves generation {served!r}, "
                f"expected {token!r}; new workers: {fresh})"
            )
        time.sleep(CONFIRM_POLL)


def remove_confirm_socket(config: Config, token: str) -> None:
    """Remove a generation's socket that a refused configuration left behind (nginx deletes
    the sockets of configurations it loaded and then replaced)."""
    with contextlib.suppress(OSError):
        sock = confirm_socket(config, token)
        if sock.is_socket():
            sock.unlink()


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.strip().splitlines())
