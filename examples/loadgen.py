"""A bounded HTTP load client that counts every failure (used by the demo and the tests)."""

from __future__ import annotations

import http.client
import threading
import time
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class LoadStats:
    """What the clients saw: totals, failures by kind, and which versions answered."""

    sent: int = 0
    ok: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    versions: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def failed(self) -> int:
        return sum(self.failures.values())

    def record(self, outcome: str, version: str = "") -> None:
        with self.lock:
            self.sent += 1
            if outcome == "ok":
                self.ok += 1
                self.versions[version] += 1
            else:
                self.failures[outcome] += 1


class Load:
    """Threads sending GET / through nginx until stopped, or until max_seconds/max_requests.

    keepalive=False sends `Connection: close` (a new connection per request);
    keepalive=True reuses one connection per thread and reconnects after an error.
    """

    def __init__(self, host: str, port: int, *, threads: int = 4, keepalive: bool = False,
                 max_seconds: float = 300.0, max_requests: int = 2_000_000,
                 path: str = "/") -> None:
        self.host, self.port, self.path = host, port, path
        self.keepalive = keepalive
        self.stats = LoadStats()
        self._stop = threading.Event()
        self._deadline = time.monotonic() + max_seconds
        self._max = max_requests
        self._threads = [threading.Thread(target=self._loop, daemon=True) for _ in range(threads)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> LoadStats:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
        return self.stats

    def wait_for(self, count: int, timeout: float = 30.0) -> None:
        """Block until at least `count` requests were sent (the load is really flowing)."""
        deadline = time.monotonic() + timeout
        while self.stats.sent < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"load sent only {self.stats.sent} requests in {timeout}s")
            time.sleep(0.01)

    def _running(self) -> bool:
        return (not self._stop.is_set() and time.monotonic() < self._deadline
                and self.stats.sent < self._max)

    def _loop(self) -> None:
        conn: http.client.HTTPConnection | None = None
        while self._running():
            if conn is None:
                conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
            outcome, version = self._one(conn)
            self.stats.record(outcome, version)
            if outcome != "ok" or not self.keepalive:
                conn.close()
                conn = None
        if conn is not None:
            conn.close()

    def _one(self, conn: http.client.HTTPConnection) -> tuple[str, str]:
        headers = {} if self.keepalive else {"Connection": "close"}
        try:
            conn.request("GET", self.path, headers=headers)
            response = conn.getresponse()
            body = response.read().decode("utf-8", errors="replace")
        except ConnectionRefusedError:
            return "connect refused", ""
        except TimeoutError:
            return "timeout", ""
        except http.client.RemoteDisconnected:
            return "closed by peer", ""
        except (ConnectionResetError, BrokenPipeError):
            return "reset", ""
        except (OSError, http.client.HTTPException) as exc:
            return type(exc).__name__, ""
        if 200 <= response.status < 300:
            return "ok", body.strip().rpartition(" ")[2]
        return f"HTTP {response.status}", ""
