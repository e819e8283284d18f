"""Health probes over HTTP (the fetch) and their evaluation against the policy (pure).

A probe is one HTTP/1.0 GET on a fresh loopback socket. It used httpx, which builds a client
and an SSL context per request: ~40 ms of CPU per probe on a small server, which made fast
polling pointless and cost `status` 50 ms of imports. A socket and a small parser cost ~1 ms
and never read proxy settings from the environment.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from bluegreen_local.config.model import HealthConfig

FIRST_INTERVAL: Final = 0.01  # the shortest pause between probes
# While the app is not up yet, the pause grows with the time already waited, so the time
# between "the app can answer" and "we saw it" stays under this share of its start-up time
# (at least FIRST_INTERVAL, at most health.interval).
BACKOFF_SHARE: Final = 0.05
# Once a probe passes, the other `successes - 1` follow this far apart (at most `interval`):
# they check that the app keeps answering; every moment spent here delays the switch.
CONFIRM_INTERVAL: Final = 0.02
MAX_RESPONSE: Final = 64 * 1024
BODY_LIMIT: Final = 4096


@dataclass(frozen=True, slots=True)
class Probe:
    """One probe's outcome: an HTTP status and body, or the transport error."""

    status: int | None
    body: str = ""
    error: str = ""


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a series of probes passes the health policy, and why not."""

    healthy: bool
    reason: str


def probe(port: int, policy: HealthConfig) -> Probe:
    """GET the health path on 127.0.0.1:port on a fresh connection."""
    deadline = time.monotonic() + policy.timeout
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=policy.timeout) as sock:
            sock.sendall(request_bytes(port, policy))
            raw = _read_response(sock, deadline)
    except TimeoutError:
        return Probe(None, error=f"no answer within {policy.timeout:g}s")
    except ConnectionRefusedError:
        return Probe(None, error="connection refused")
    except OSError as exc:
        return Probe(None, error=f"GET {policy.path} failed: {exc.strerror or exc}")
    return parse_response(raw)


def request_bytes(port: int, policy: HealthConfig) -> bytes:
    """The probe's request: HTTP/1.0, so the answer is never chunked and ends with the socket."""
    host = policy.host_header or f"127.0.0.1:{port}"
    return (f"GET {_ascii_path(policy.path)} HTTP/1.0\r\nHost: {host}\r\n"
            "User-Agent: bluegreen-local\r\nAccept: */*\r\nConnection: close\r\n\r\n").encode()


def _ascii_path(path: str) -> str:
    return "".join(c if ord(c) < 128 else "".join(f"%{b:02X}" for b in c.encode()) for c in path)


def _read_response(sock: socket.socket, deadline: float) -> bytes:
    """Read until the server closes, the announced body is complete, or MAX_RESPONSE."""
    data = b""
    expected: int | None = None
    while len(data) < MAX_RESPONSE:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        sock.settimeout(remaining)
        chunk = sock.recv(16384)
        if not chunk:
            break
        data += chunk
        if expected is None and b"\r\n\r\n" in data:
            expected = _content_end(data)
        if expected is not None and len(data) >= expected:
            break
    return data


def _content_end(data: bytes) -> int | None:
    """Where the response ends if it announces a Content-Length, else None (read to close)."""
    head, _, _ = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            return len(head) + 4 + int(value.strip())
    return None


def parse_response(raw: bytes) -> Probe:
    """An HTTP response as read from the socket -> Probe (pure)."""
    if not raw:
        return Probe(None, error="the connection closed without an answer")
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    parts = lines[0].split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        shown = lines[0][:60].decode("ascii", errors="replace")
        return Probe(None, error=f"not an HTTP response: {shown!r}")
    headers = {n.strip().lower(): v.strip() for n, _, v in (h.partition(b":") for h in lines[1:])}
    if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        body = _dechunk(body)
    elif (length := headers.get(b"content-length", b"")).isdigit():
        body = body[:int(length)]
    return Probe(int(parts[1]), body[:BODY_LIMIT].decode("utf-8", errors="replace"))


def _dechunk(body: bytes) -> bytes:
    """Decode a chunked body (a server may send one even to an HTTP/1.0 request)."""
    out = b""
    while body:
        size_line, _, rest = body.partition(b"\r\n")
        try:
            size = int(size_line.split(b";")[0], 16)
        except ValueError:
            break
        if size == 0:
            break
        out += rest[:size]
        body = rest[size + 2:]
    return out


def judge(result: Probe, policy: HealthConfig) -> Verdict:
    """Does one probe meet the policy?"""
    if result.status is None:
        return Verdict(False, result.error or "no response")
    if result.status not in policy.expect_status:
        return Verdict(False, f"GET {policy.path} returned {result.status}")
    if policy.expect_body and policy.expect_body not in result.body:
        return Verdict(False, f"GET {policy.path} body lacks {policy.expect_body!r}")
    return Verdict(True, f"GET {policy.path} returned {result.status}")


def evaluate(results: Sequence[Probe], policy: HealthConfig) -> Verdict:
    """Healthy once the last `successes` probes all pass; otherwise the latest reason."""
    if not results:
        return Verdict(False, "not probed yet")
    recent = [judge(r, policy) for r in results[-policy.successes:]]
    if len(recent) >= policy.successes and all(v.healthy for v in recent):
        return Verdict(True, recent[-1].reason)
    failing = next((v for v in reversed(recent) if not v.healthy), recent[-1])
    if failing.healthy:
        return Verdict(False, f"{len(recent)} of {policy.successes} consecutive successes")
    return failing


def next_delay(waited: float, passed: bool, policy: HealthConfig) -> float:
    """The pause before the next probe, after `waited` seconds and a probe that passed or not.

    Failing: BACKOFF_SHARE of the time waited so far, from FIRST_INTERVAL up to `interval`.
    Passed: CONFIRM_INTERVAL (at most `interval`) until `successes` passes in a row.
    """
    if passed:
        return min(policy.interval, CONFIRM_INTERVAL)
    return min(policy.interval, max(FIRST_INTERVAL, waited * BACKOFF_SHARE))


def wait_healthy(
    port: int,
    policy: HealthConfig,
    *,
    still_running: Callable[[], bool],
    fetch: Callable[[int, HealthConfig], Probe] = probe,
    meanwhile: Callable[[], None] | None = None,
) -> Verdict:
    """Probe until healthy, the process exits, or the deadline passes.

    `meanwhile` runs once, after the first probe that fails: the app is still booting, so
    work done then costs the deploy nothing. An app that answers at once never waits for it.
    """
    started = time.monotonic()
    deadline = started + policy.deadline
    results: list[Probe] = []
    while True:
        results.append(fetch(port, policy))
        verdict = evaluate(results, policy)
        if verdict.healthy:
            return verdict
        if not still_running():
            return Verdict(False, f"the process exited ({verdict.reason})")
        if meanwhile is not None and not judge(results[-1], policy).healthy:
            meanwhile()
            meanwhile = None
            continue  # that took a while: probe again at once
        now = time.monotonic()
        delay = next_delay(now - started, judge(results[-1], policy).healthy, policy)
        if now + delay > deadline:
            return Verdict(False, f"not healthy within {policy.deadline:g}s: {verdict.reason}")
        time.sleep(delay)
