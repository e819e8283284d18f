"""The health probe on both HTTP backends (http.client and httpx) against real local servers:
statuses, bodies, slow servers, refusals, the headers sent, fresh connections, https."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from bluegreen_local.config import HealthConfig
from bluegreen_local.probes import health, http, via_httpx, via_stdlib
from bluegreen_local.probes.health import Probe, Verdict
from unit.servers import App, Certs, make_certs, run_app

TIMEOUT = 0.3  # the probes that must time out do so quickly
POLICY = HealthConfig(
    path="/health", expect_status=frozenset({200, 204}), expect_body="", host_header="",
    interval=0.1, timeout=TIMEOUT, successes=2, deadline=5.0,
)


@pytest.fixture(autouse=True)
def fresh_client(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts in a process state without the httpx client."""
    monkeypatch.setattr(http, "_BACKGROUND", http._Background())


@pytest.fixture(params=["http.client", "httpx"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Each probe test runs on both backends; it fails if the other one answered."""
    if request.param == "httpx":
        http.prepare(wait=True)
    used = {"http.client": 0, "httpx": 0}
    for name, module in (("http.client", via_stdlib), ("httpx", via_httpx)):
        monkeypatch.setattr(module, "fetch", _counting(module.fetch, used, name))
    yield request.param
    assert used[request.param] > 0 and sum(used.values()) == used[request.param], used


def _counting(fetch: Callable[[http.Request], Probe], used: dict[str, int],
              name: str) -> Callable[[http.Request], Probe]:
    def counted(request: http.Request) -> Probe:
        used[name] += 1
        return fetch(request)

    return counted


@pytest.fixture
def app() -> Iterator[App]:
    with run_app() as running:
        yield running


def at(path: str, **changes: object) -> HealthConfig:
    return replace(POLICY, path=path, **changes)  # type: ignore[arg-type]


def test_probe_reads_status_and_body(backend: str, app: App) -> None:
    assert health.probe(app.port, at("/health")) == Probe(200, "ok\n")
    assert health.probe(app.port, at("/status/204")) == Probe(204, "")
    answer = health.probe(app.port, at("/status/503"))
    assert answer == Probe(503, "status 503\n")
    assert health.judge(answer, POLICY).reason == "GET /health returned 503"


def test_probe_body_match_and_limit(backend: str, app: App) -> None:
    assert health.judge(health.probe(app.port, at("/", expect_body="ok")),
                        replace(POLICY, expect_body="ok")).healthy
    assert health.probe(app.port, at("/chunked")) == Probe(200, "ready")
    assert health.probe(app.port, at("/big")) == Probe(200, "x" * http.BODY_LIMIT)
    # Closed before its Content-Length: what came is judged.
    assert health.probe(app.port, at("/truncated")) == Probe(200, "ok")


@pytest.mark.parametrize("path", ["/hang", "/trickle", "/slowbody"])
def test_a_slow_server_times_out(backend: str, app: App, path: str) -> None:
    # /trickle and /slowbody send a byte every 50 ms: a timeout per read would never fire.
    started = time.monotonic()
    assert health.probe(app.port, at(path)) == Probe(None, error="no answer within 0.3s")
    assert TIMEOUT <= time.monotonic() - started < TIMEOUT + 0.25


def test_probe_a_closed_port(backend: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert health.probe(port, POLICY) == Probe(None, error="connection refused")


def test_not_http_or_no_answer(backend: str, app: App) -> None:
    closed = health.probe(app.port, at("/close"))
    assert closed == Probe(None, error="the connection closed without an answer")
    garbage = health.probe(app.port, at("/garbage"))
    assert garbage.status is None and garbage.error.startswith("not an HTTP response: ")
    assert "SSH-2.0-OpenSSH_9.2" in garbage.error


def test_probe_sends_its_headers(backend: str, app: App) -> None:
    health.probe(app.port, at("/health?full=1"))
    extra = (("X-Probe", "bluegreen"), ("user-agent", "custom/1"))
    health.probe(app.port, at("/health", host_header="app.test:8080", headers=extra))
    first, second = app.requests
    assert (first.path, first.version) == ("/health?full=1", "HTTP/1.1")
    assert first.headers["host"] == f"127.0.0.1:{app.port}"
    assert first.headers["user-agent"] == "bluegreen-local"
    assert first.headers["connection"] == "close"
    assert first.headers["accept-encoding"] == "identity"
    assert second.headers["host"] == "app.test:8080"
    assert second.headers["x-probe"] == "bluegreen"
    assert second.headers["user-agent"] == "custom/1"  # replaced, not sent twice


def test_every_probe_is_a_fresh_connection(backend: str, app: App) -> None:
    """Even when the server would keep the connection open, and sets cookies."""
    for _ in range(3):
        assert health.probe(app.port, at("/keepalive")).status == 200
    health.probe(app.port, at("/cookie"))
    health.probe(app.port, at("/health"))
    assert len(app.connections) == 5
    assert "cookie" not in app.requests[-1].headers


def test_probes_ignore_proxy_settings(backend: str, app: App,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "https_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.delenv("no_proxy", raising=False)
    assert health.probe(app.port, at("/health")) == Probe(200, "ok\n")


def test_wait_healthy_builds_the_polling_client(monkeypatch: pytest.MonkeyPatch,
                                                app: App) -> None:
    assert http.backend() == "http.client"
    verdict = health.wait_healthy(app.port, at("/health"), still_running=lambda: True)
    assert verdict == Verdict(True, "GET /health returned 200")
    assert len(app.connections) == POLICY.successes
    http.prepare(wait=True)  # built in the background meanwhile; later probes use it
    assert http.backend() == "httpx"


# -- https ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def tls_app(certs: Certs) -> Iterator[App]:
    with run_app(certs.server_context()) as running:
        yield running


def secure(**changes: object) -> HealthConfig:
    return at("/health", scheme="https", **changes)


def test_https_without_verification(backend: str, tls_app: App) -> None:
    assert health.probe(tls_app.port, secure(tls_verify=False)) == Probe(200, "ok\n")


def test_https_with_the_ca(backend: str, tls_app: App, certs: Certs) -> None:
    # The certificate is checked against the name in the Host header: 127.0.0.1 by default.
    assert health.probe(tls_app.port, secure(tls_verify=certs.ca)) == Probe(200, "ok\n")
    named = secure(tls_verify=certs.ca, host_header="app.test")
    assert health.probe(tls_app.port, named) == Probe(200, "ok\n")
    assert tls_app.requests[-1].headers["host"] == "app.test"


def test_https_refuses_an_untrusted_certificate(backend: str, tls_app: App,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", os.devnull)  # the environment is never read
    answer = health.probe(tls_app.port, secure(tls_verify=True))
    assert answer.status is None
    assert answer.error.startswith("TLS certificate not accepted for 127.0.0.1: ")
    assert "certificate verify failed" in answer.error or "issuer" in answer.error
    assert tls_app.requests == []


def test_https_refuses_the_wrong_name(backend: str, tls_app: App, certs: Certs) -> None:
    answer = health.probe(tls_app.port, secure(tls_verify=certs.ca, host_header="other.test"))
    assert answer.status is None
    assert answer.error.startswith("TLS certificate not accepted for other.test: ")
    assert "other.test" in answer.error and tls_app.requests == []


def test_https_to_a_plain_http_port(backend: str, app: App) -> None:
    answer = health.probe(app.port, secure(tls_verify=False))
    assert answer.status is None and answer.error.startswith("TLS handshake failed: ")


def test_https_with_a_missing_ca_bundle(backend: str, tls_app: App, tmp_path: Path) -> None:
    gone = tmp_path / "removed-ca.pem"
    answer = health.probe(tls_app.port, secure(tls_verify=gone))
    assert answer == Probe(None, error=f"GET /health failed: cannot load the CA bundle {gone} "
                                       "(health.tls_verify): No such file or directory")
