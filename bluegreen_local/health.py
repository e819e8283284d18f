"""Health probes over HTTP (the fetch) and their evaluation against the policy (pure)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

import httpx

from bluegreen_local.config import HealthConfig

FIRST_INTERVAL: Final = 0.01  # poll fast at first: most apps are ready within a few hundred ms


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
    headers = {"Connection": "close"}
    if policy.host_header:
        headers["Host"] = policy.host_header
    url = f"http://127.0.0.1:{port}{policy.path}"
    try:
        # trust_env=False: an http_proxy in the environment must not proxy loopback probes.
        response = httpx.get(url, headers=headers, timeout=policy.timeout, trust_env=False)
    except httpx.TimeoutException:
        return Probe(None, error=f"no answer within {policy.timeout:g}s")
    except httpx.HTTPError as exc:
        return Probe(None, error=_short_error(exc))
    return Probe(response.status_code, response.text[:4096])


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


def next_delay(previous: float, policy: HealthConfig) -> float:
    """Back off from FIRST_INTERVAL to the configured interval: fast first, gentle later."""
    return min(policy.interval, max(FIRST_INTERVAL, previous * 2))


def wait_healthy(
    port: int,
    policy: HealthConfig,
    *,
    still_running: Callable[[], bool],
    fetch: Callable[[int, HealthConfig], Probe] = probe,
) -> Verdict:
    """Probe until healthy, the process exits, or the deadline passes."""
    deadline = time.monotonic() + policy.deadline
    results: list[Probe] = []
    delay = 0.0
    while True:
        results.append(fetch(port, policy))
        verdict = evaluate(results, policy)
        if verdict.healthy:
            return verdict
        if not still_running():
            return Verdict(False, f"the process exited ({verdict.reason})")
        delay = next_delay(delay, policy) if not judge(results[-1], policy).healthy else \
            policy.interval
        if time.monotonic() + delay > deadline:
            return Verdict(False, f"not healthy within {policy.deadline:g}s: {verdict.reason}")
        time.sleep(delay)


def _short_error(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.ConnectError):
        return "connection refused" if "refused" in str(exc).lower() else f"cannot connect: {exc}"
    return f"{type(exc).__name__}: {exc}"
