"""The polling backend of probes.http: httpx clients built once per process, one fresh
connection per request. Only probes.http imports this module (in its background thread).

A client per target kind: one for 127.0.0.1 ports over http, one per TLS setting for https,
and one per unix socket path (httpx binds a transport to one socket; confirm() polls a new
path every generation). None of them builds an SSL context it does not use: over http and on
unix sockets none is made at all, so a client costs ~0.2 ms, not the 15-80 ms of loading CAs.

The transport is httpx's own HTTPTransport but for one thing: its connections go through a
network backend that ends every read and write by the request's deadline, so a server that
trickles bytes cannot stretch a probe past its timeout (httpx's timeouts are per read).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from http.cookiejar import CookieJar
from pathlib import Path
from typing import TYPE_CHECKING, Final

import httpcore
import httpx

from bluegreen_local.probes.http import (
    BODY_LIMIT,
    Probe,
    Request,
    failure,
    headers,
    timeout_text,
    tls_context,
    tls_name,
)

if TYPE_CHECKING:
    import ssl
    import urllib.request
    from http.client import HTTPResponse

SOCKET_CLIENTS: Final = 4  # the shared admin socket and the last few generations' sockets
_ERRORS: Final = (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol,
                  httpx.HTTPError, OSError, ValueError)
_tcp: dict[bool | Path | None, httpx.Client] = {}
_unix: OrderedDict[Path, httpx.Client] = OrderedDict()


def warm(tls_verify: bool | Path | None) -> None:
    """Build the client for 127.0.0.1 (with that TLS setting, if not None) ahead of use."""
    _tcp_client(tls_verify)


def fetch(request: Request) -> Probe:
    extensions = {"sni_hostname": tls_name(request)} if request.scheme == "https" else {}
    try:
        with _client(request).stream("GET", request.url, headers=headers(request),
                                     timeout=request.timeout,
                                     extensions=extensions) as response:
            body = _read(response.iter_raw())
    except httpcore.TimeoutException:
        return Probe(None, error=timeout_text(request))
    except httpcore.RemoteProtocolError as exc:
        # httpcore's words for an EOF before the status line; anything else is garbage.
        if str(exc).startswith("Server disconnected without sending a response"):
            return Probe(None, error="the connection closed without an answer")
        return Probe(None, error=f"not an HTTP response: {str(exc)[:80]}")
    except _ERRORS as exc:
        return Probe(None, error=failure(exc, request))
    return Probe(response.status_code, body.decode("utf-8", errors="replace"))


def _read(chunks: Iterator[bytes]) -> bytes:
    """The body up to BODY_LIMIT; the rest is never read (the connection closes anyway)."""
    body = b""
    try:
        for chunk in chunks:
            body += chunk
            if len(body) >= BODY_LIMIT:
                break
    except httpcore.RemoteProtocolError:
        pass  # closed before the announced end: judge what came, as http.client does
    return body[:BODY_LIMIT]


def _client(request: Request) -> httpx.Client:
    if request.uds is None:
        return _tcp_client(request.tls_verify if request.scheme == "https" else None)
    client = _unix.get(request.uds)
    if client is None:
        client = _unix[request.uds] = _new_client(None, str(request.uds))
        if len(_unix) > SOCKET_CLIENTS:
            _unix.popitem(last=False)[1].close()
    _unix.move_to_end(request.uds)
    return client


def _tcp_client(tls_verify: bool | Path | None) -> httpx.Client:
    client = _tcp.get(tls_verify)
    if client is None:
        context = None if tls_verify is None else tls_context(tls_verify)
        client = _tcp[tls_verify] = _new_client(context, None)
    return client


def _new_client(context: ssl.SSLContext | None, uds: str | None) -> httpx.Client:
    # trust_env=False: no proxy, netrc or SSL_CERT_* from the environment; a probe of
    # 127.0.0.1 sent to an http_proxy would test the proxy, not the app.
    return httpx.Client(transport=_Transport(context, uds), trust_env=False,
                        follow_redirects=False, cookies=_NoCookies())


class _NoCookies(CookieJar):
    """Each probe stands alone: a cookie one answer sets is never sent with the next."""

    def extract_cookies(self, response: HTTPResponse, request: urllib.request.Request) -> None:
        return


class _Transport(httpx.BaseTransport):
    """httpx.HTTPTransport on a connection pool that keeps no idle connection: a health
    probe must prove the app accepts new connections (as nginx opens them), and a kept-alive
    connection to an old nginx worker would keep answering the old generation."""

    def __init__(self, context: ssl.SSLContext | None, uds: str | None) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=context, max_keepalive_connections=0, uds=uds,
            network_backend=_DeadlineBackend())

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port,
                             target=url.raw_path),
            headers=request.headers.raw, content=_request_body(request),
            extensions=request.extensions)
        response = self._pool.handle_request(core)
        return httpx.Response(response.status, headers=response.headers,
                              stream=_Body(response), extensions=response.extensions)

    def close(self) -> None:
        self._pool.close()


def _request_body(request: httpx.Request) -> Iterable[bytes] | bytes:
    stream = request.stream
    return stream if isinstance(stream, httpx.SyncByteStream) else b""


class _Body(httpx.SyncByteStream):
    def __init__(self, response: httpcore.Response) -> None:
        self._response = response

    def __iter__(self) -> Iterator[bytes]:
        yield from self._response.iter_stream()

    def close(self) -> None:
        self._response.close()


class _DeadlineBackend(httpcore.NetworkBackend):
    """Connections whose reads and writes all end by one deadline. Each request opens its own
    connection with the request's timeout, so connect time + timeout is the request's end."""

    def __init__(self) -> None:
        self._sync = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
                    ) -> httpcore.NetworkStream:
        deadline = _deadline(timeout)
        return _DeadlineStream(self._sync.connect_tcp(
            host, port, timeout, local_address, socket_options), deadline)

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
                            ) -> httpcore.NetworkStream:
        deadline = _deadline(timeout)
        return _DeadlineStream(self._sync.connect_unix_socket(
            path, timeout, socket_options), deadline)

    def sleep(self, seconds: float) -> None:
        self._sync.sleep(seconds)


def _deadline(timeout: float | None) -> float:
    return time.monotonic() + (timeout if timeout is not None else 60.0)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream, deadline: float) -> None:
        self._stream = stream
        self._deadline = deadline

    def _left(self, error: type[httpcore.TimeoutException]) -> float:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise error("the request's deadline passed")
        return left

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._left(httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._left(httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        stream = self._stream.start_tls(ssl_context, server_hostname,
                                        self._left(httpcore.ConnectTimeout))
        return _DeadlineStream(stream, self._deadline)

    def get_extra_info(self, info: str) -> object:
        return self._stream.get_extra_info(info)
