"""The one HTTP client: a GET to a loopback port or a unix socket, answered as a Probe.

Every request goes out on a fresh connection and ends within its timeout, whatever the server
does (a deadline on the whole request, not a timeout per read). Two backends answer `fetch()`
alike (the tests run every case on both), and the command picks one by what it needs:

- httpx (`via_httpx`), for commands that poll while an app boots: the health gate, then the
  reload confirmation. Importing it costs 20-60 ms (75-125 ms on a loaded 2-core host), so
  the gate calls `prepare()`, which builds the client in a background thread while the new
  version starts; every fetch uses it once it is built and none waits for it.
- the standard library's http.client (`via_stdlib`) for everything else: a process that never
  prepared (`status --json`, which must answer in ~150 ms and reads one health probe per
  running slot and one served generation; a rollback that flips to a warm slot), and the
  first probes of a gate while httpx is still loading.

Why no wait and not at the start of the command: a background import started before
recovery made recovery and preflight 50-80 ms slower on the bench host (the import holds the
interpreter while the main thread works), and a fetch that waited for it made recovery's first
read wait for the whole import. While an app boots the main thread only sleeps between probes.

Neither backend reads proxy settings or any other environment variable.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import ssl

log = logging.getLogger(__name__)

BODY_LIMIT: Final = 4096  # enough for health.expect_body and the generation token
USER_AGENT: Final = "bluegreen-local"
_DEFAULT_HEADERS: Final = (("User-Agent", USER_AGENT), ("Accept", "*/*"),
                           # Both backends hand over the body as sent: never compressed.
                           ("Accept-Encoding", "identity"))


@dataclass(frozen=True, slots=True)
class Probe:
    """One request's outcome: an HTTP status and body, or the transport error."""

    status: int | None
    body: str = ""
    error: str = ""


@dataclass(frozen=True, slots=True)
class Request:
    """A GET to 127.0.0.1:port, or to a unix socket when `uds` is set."""

    path: str
    port: int = 0
    uds: Path | None = None
    host: str = ""  # the Host header; by default 127.0.0.1:PORT (or localhost on a socket)
    scheme: str = "http"
    headers: tuple[tuple[str, str], ...] = ()
    tls_verify: bool | Path = True
    timeout: float = 1.0

    @property
    def host_header(self) -> str:
        return self.host or ("localhost" if self.uds else f"127.0.0.1:{self.port}")

    @property
    def url(self) -> str:
        where = "localhost" if self.uds else f"127.0.0.1:{self.port}"
        return f"{self.scheme}://{where}{self.path}"


def fetch(request: Request) -> Probe:
    """GET on a fresh connection; the body up to BODY_LIMIT; never longer than the timeout."""
    if _BACKGROUND.ready():
        from bluegreen_local.probes import via_httpx

        return via_httpx.fetch(request)
    from bluegreen_local.probes import via_stdlib

    return via_stdlib.fetch(request)


def prepare(*, tls_verify: bool | Path | None = None, wait: bool = False) -> None:
    """Start building the httpx client in a background thread (once per process); fetches
    use it as soon as it is built. `tls_verify`: also build that TLS context (https probes).
    `wait`: return only once it is built."""
    _BACKGROUND.start(tls_verify)
    if wait:
        _BACKGROUND.wait()


def backend() -> str:
    """The library the next fetch uses: "httpx" or "http.client"."""
    return "httpx" if _BACKGROUND.ready() else "http.client"


class _Background:
    """The httpx backend, imported and built once, off the caller's thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._built = threading.Event()

    def ready(self) -> bool:
        return self._built.is_set()

    def start(self, tls_verify: bool | Path | None) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._build, args=(tls_verify,),
                                                name="bluegreen-http", daemon=True)
                self._thread.start()

    def wait(self) -> None:
        if self._thread is not None:
            self._thread.join()

    def _build(self, tls_verify: bool | Path | None) -> None:
        try:
            from bluegreen_local.probes import via_httpx

            via_httpx.warm(tls_verify)
        except Exception:
            # A broken httpx install must not fail a deploy: http.client answers alike.
            log.warning("the httpx client could not be built; probing with http.client",
                        exc_info=True)
            return
        self._built.set()


_BACKGROUND = _Background()


# -- shared by both backends -----------------------------------------------------------------


def headers(request: Request) -> list[tuple[str, str]]:
    """The request's headers: ours, the configured extras (which may replace User-Agent or
    Accept), then Host and `Connection: close`, which the probe always decides itself."""
    merged = {name.lower(): (name, value) for name, value in (
        *_DEFAULT_HEADERS, *request.headers,
        ("Host", request.host_header), ("Connection", "close"))}
    return list(merged.values())


def tls_name(request: Request) -> str:
    """The name the certificate must carry: the Host header's, without its port."""
    host = request.host_header
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def tls_context(verify: bool | Path) -> ssl.SSLContext:
    """A client TLS context: the system's CAs (True), one CA bundle file (a Path), or no
    verification at all (False). 15-80 ms for the system CAs: build it once per process."""
    import ssl

    if verify is False:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if verify is True:
        return ssl.create_default_context()
    try:
        return ssl.create_default_context(cafile=str(verify))
    except (OSError, ssl.SSLError) as exc:  # removed or replaced since the config was loaded
        raise CABundleError(f"cannot load the CA bundle {verify} (health.tls_verify): "
                            f"{exc.strerror or exc}") from None


class CABundleError(OSError):
    """health.tls_verify names a file that is not a readable CA bundle (any more)."""


def timeout_text(request: Request) -> str:
    return f"no answer within {request.timeout:g}s"


def failure(exc: BaseException, request: Request) -> str:
    """Why a request failed, from the OS or TLS error that libraries wrap in their own."""
    import ssl

    chain = _chain(exc)
    for cause in chain:
        if isinstance(cause, CABundleError):
            return f"GET {request.path} failed: {cause}"
        if isinstance(cause, TimeoutError):
            return timeout_text(request)
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, ssl.SSLCertVerificationError):
            return (f"TLS certificate not accepted for {tls_name(request)}: "
                    f"{cause.verify_message or cause.reason}")
        if isinstance(cause, ssl.SSLError):
            return f"TLS handshake failed: {cause.reason or cause}"
    innermost = chain[-1]
    if isinstance(innermost, OSError) and innermost.strerror:
        return f"GET {request.path} failed: {innermost.strerror}"
    return f"GET {request.path} failed: {innermost}"


def _chain(exc: BaseException) -> list[BaseException]:
    """`exc` and what it wraps, outermost first (httpcore re-raises `from None`, so the
    context counts even where it is suppressed)."""
    chain = [exc]
    while (inner := chain[-1].__cause__ or chain[-1].__context__) is not None \
            and inner not in chain:
        chain.append(inner)
    return chain
