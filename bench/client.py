"""The bench's HTTP client: httpx, a fresh connection for every request, nothing pooled.

A kept-alive connection could stay on an old nginx worker after a reload and answer for the
old generation, so every request here opens its own connection and closes it.
"""

from __future__ import annotations

import functools
import ssl
from pathlib import Path
from typing import Final

import httpx

# Every URL here is plain http on loopback or a unix socket. httpx builds a TLS context for
# each transport all the same; one without CAs spares it loading certifi's bundle each time.
_NO_TLS: Final = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
_FRESH: Final = httpx.Limits(max_keepalive_connections=0)
_CLOSE: Final = {"Connection": "close"}


def client(*, uds: Path | None = None, timeout: float = 2.0) -> httpx.Client:
    """A client whose every request opens a new connection (over `uds` when given)."""
    transport = httpx.HTTPTransport(verify=_NO_TLS, limits=_FRESH, trust_env=False,
                                    uds=None if uds is None else str(uds))
    return httpx.Client(transport=transport, timeout=timeout, headers=_CLOSE, trust_env=False)


@functools.cache
def _tcp() -> httpx.Client:
    """One client for the process (it pools nothing): building one costs ~0.1 ms."""
    return client()


def status(port: int, path: str = "/", timeout: float = 2.0) -> int:
    """One GET to 127.0.0.1:port on a fresh connection: its status, or 0 when no answer came."""
    try:
        return _tcp().get(f"http://127.0.0.1:{port}{path}", timeout=timeout).status_code
    except httpx.HTTPError:
        return 0


def body(http: httpx.Client, url: str = "http://probe/") -> str | None:
    """The stripped body of a 200 answer on `http`'s socket; None for anything else."""
    try:
        answer = http.get(url)
    except httpx.HTTPError:
        return None
    return answer.text.strip() if answer.status_code == 200 else None
