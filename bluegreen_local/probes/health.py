"""Health probes over HTTP (the fetch, on probes.http) and their evaluation against the
policy (pure).

A probe is one GET on a fresh connection to 127.0.0.1:PORT (http or https): a health check
must show that the app accepts the new connections nginx will open, and `successes` passes
in a row must be that many separate proofs. A kept-alive connection would show neither.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

from bluegreen_local.config.model import HealthConfig
from bluegreen_local.probes import http
from bluegreen_local.probes.http import Probe
from bluegreen_local.util.poll import poll_until

__all__ = ["Probe", "Verdict", "evaluate", "judge", "next_delay", "prepare", "probe",
           "request", "wait_healthy"]

FIRST_INTERVAL: Final = 0.01  # the shortest pause between probes
# While the app is not up yet, the pause grows with the time already waited, so the time
# between "the app can answer" and "we saw it" stays under this share of its start-up time
# (at least FIRST_INTERVAL, at most health.interval).
BACKOFF_SHARE: Final = 0.05
# Once a probe passes, the other `successes - 1` follow this far apart (at most `interval`):
# they check that the app keeps answering; every moment spent here delays the switch.
CONFIRM_INTERVAL: Final = 0.02


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a series of probes passes the health policy, and why not."""

    healthy: bool
    reason: str


def prepare(policy: HealthConfig) -> None:
    """Start building the polling HTTP client in the background. wait_healthy does it while
    the new version boots, the one stretch of a deploy where the main thread is idle."""
    http.prepare(tls_verify=policy.tls_verify if policy.scheme == "https" else None)


def probe(port: int, policy: HealthConfig) -> Probe:
    """GET the health path on 127.0.0.1:port on a fresh connection."""
    return http.fetch(request(port, policy))


def request(port: int, policy: HealthConfig) -> http.Request:
    """The probe's request (its Host header is health.host_header, if set)."""
    return http.Request(policy.path, port=port, host=policy.host_header, scheme=policy.scheme,
                        headers=policy.headers, tls_verify=policy.tls_verify,
                        timeout=policy.timeout)


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

    `meanwhile` starts once, after the first probe that fails (the app is still booting), in a
    thread beside the probes, so that work (staging and testing the switch's nginx files)
    never delays noticing that the app became ready. It has finished (or raised here) when
    this returns. An app that answers at once never waits for it.
    """
    prepare(policy)  # probes use httpx once it is built; until then http.client
    gate = _Gate(port, policy, still_running, fetch, meanwhile)
    try:
        # The clock is this module's `time`, looked up now: the unit tests stand in for it.
        verdict = poll_until(gate.check, timeout=policy.deadline, interval=gate.pause,
                             clock=time.monotonic, sleep=time.sleep,
                             what=f"port {port} to be healthy")
    finally:
        gate.finish()
    return verdict or Verdict(
        False, f"not healthy within {policy.deadline:g}s: {evaluate(gate.results, policy).reason}")


@dataclass(slots=True)
class _Gate:
    """One health gate's probes so far, and the `meanwhile` work it has yet to run."""

    port: int
    policy: HealthConfig
    still_running: Callable[[], bool]
    fetch: Callable[[int, HealthConfig], Probe]
    meanwhile: Callable[[], None] | None
    results: list[Probe] = field(default_factory=list)
    worker: threading.Thread | None = None
    failure: list[BaseException] = field(default_factory=list)

    def check(self) -> Verdict | None:
        """The gate's verdict (healthy, or the process exited), or None to probe again later."""
        verdict = self._probe()
        if verdict is None and self.meanwhile is not None and not self._passed():
            self.worker = threading.Thread(target=self._meanwhile, args=(self.meanwhile,),
                                           name="bluegreen-meanwhile", daemon=True)
            self.worker.start()
            self.meanwhile = None
        return verdict

    def finish(self) -> None:
        """Wait for the `meanwhile` work; an error in it is the caller's, raised here."""
        # ident stays None when a signal cut Thread.start() short before the thread began:
        # then there is nothing to wait for (and join() would raise).
        if self.worker is not None and self.worker.ident is not None:
            self.worker.join()
        if self.failure:
            raise self.failure[0]

    def _meanwhile(self, work: Callable[[], None]) -> None:
        try:
            work()
        except BaseException as exc:  # handed to the caller's thread, raised there
            self.failure.append(exc)

    def pause(self, waited: float) -> float:
        return next_delay(waited, self._passed(), self.policy)

    def _probe(self) -> Verdict | None:
        self.results.append(self.fetch(self.port, self.policy))
        verdict = evaluate(self.results, self.policy)
        if verdict.healthy:
            return verdict
        if not self.still_running():
            return Verdict(False, f"the process exited ({verdict.reason})")
        return None

    def _passed(self) -> bool:
        return judge(self.results[-1], self.policy).healthy
