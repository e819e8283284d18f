"""The one-shot backend of probes.http: the standard library's http.client, ~20 ms less to
import than httpx; `status` reads with it. Only probes.http imports this module."""

from __future__ import annotations

import functools
import http.client
import math
import socket
import ssl
import time
from pathlib import Path
from typing import TYPE_CHECKING

from bluegreen_local.probes.http import (
    BODY_LIMIT,
    Probe,
    Request,
    failure,
    headers,
    tls_context,
    tls_name,
)

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, WriteableBuffer


def fetch(request: Request) -> Probe:
    deadline = time.monotonic() + request.timeout
    conn = _Connection(request, deadline)
    try:
        conn.putrequest("GET", request.path, skip_host=True, skip_accept_encoding=True)
        for name, value in headers(request):
            conn.putheader(name, value)
        conn.endheaders()
        response = conn.getresponse()
        body = response.read(BODY_LIMIT)
    except http.client.RemoteDisconnected:
        return Probe(None, error="the connection closed without an answer")
    except http.client.BadStatusLine as exc:
        return Probe(None, error=f"not an HTTP response: {str(exc).strip()[:60]!r}")
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return Probe(None, error=failure(exc, request))
    finally:
        conn.close()
    return Probe(response.status, body.decode("utf-8", errors="replace"))


class _Connection(http.client.HTTPConnection):
    """One request to 127.0.0.1:PORT or a unix socket, TLS if asked, on sockets whose every
    read and write ends by the request's deadline."""

    def __init__(self, request: Request, deadline: float) -> None:
        super().__init__("127.0.0.1", request.port or None, timeout=request.timeout)
        self._request = request
        self._deadline = deadline

    def connect(self) -> None:
        request = self._request
        family = socket.AF_UNIX if request.uds else socket.AF_INET
        sock = _Socket(family, socket.SOCK_STREAM)
        sock.deadline = self._deadline
        try:
            sock.settimeout(_left(self._deadline))
            sock.connect(str(request.uds) if request.uds else ("127.0.0.1", request.port))
            if request.scheme == "https":
                sock.settimeout(_left(self._deadline))  # the handshake's budget
                tls = _context(request.tls_verify).wrap_socket(
                    sock, server_hostname=tls_name(request))
                if isinstance(tls, _TLSSocket):  # always: _context() makes it so
                    tls.deadline = self._deadline
                self.sock = tls
                return
        except BaseException:
            sock.close()
            raise
        self.sock = sock


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the request's deadline passed")
    return left


class _Socket(socket.socket):
    """A socket whose reads and writes share one deadline: a server that trickles its answer
    a byte at a time cannot stretch a probe past its timeout."""

    deadline = math.inf

    def recv_into(self, buffer: WriteableBuffer, nbytes: int = 0, flags: int = 0) -> int:
        self.settimeout(_left(self.deadline))
        return super().recv_into(buffer, nbytes, flags)

    def sendall(self, data: ReadableBuffer, flags: int = 0) -> None:
        self.settimeout(_left(self.deadline))
        super().sendall(data, flags)


class _TLSSocket(ssl.SSLSocket):
    """The same deadline once TLS wraps the socket (it reads the descriptor itself)."""

    deadline = math.inf

    def recv_into(self, buffer: WriteableBuffer, nbytes: int | None = None, flags: int = 0) -> int:
        self.settimeout(_left(self.deadline))
        return super().recv_into(buffer, nbytes, flags)

    def sendall(self, data: ReadableBuffer, flags: int = 0) -> None:
        self.settimeout(_left(self.deadline))
        super().sendall(data, flags)


@functools.cache
def _context(verify: bool | Path) -> ssl.SSLContext:
    context = tls_context(verify)
    context.sslsocket_class = _TLSSocket
    return context

