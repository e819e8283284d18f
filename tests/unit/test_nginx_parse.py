"""Recorded output: the admin socket's answers (replayed by a real unix-socket server, read
by both HTTP backends) and `ss` listings (fed to the pure parsers)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bluegreen_local import nginx
from bluegreen_local.probes import http
from bluegreen_local.util import net
from unit.servers import replay

# Recorded from nginx 1.22 on the admin socket (GET /generation HTTP/1.0).
GENERATION_200 = (
    b"HTTP/1.1 200 OK\r\n"
    b"Server: nginx/1.22.1\r\n"
    b"Date: Sat, 22 Nov 2025 00:30:00 GMT\r\n"
    b"Content-Type: text/plain\r\n"
    b"Content-Length: 6\r\n"
    b"Connection: close\r\n"
    b"\r\n"
    b"5-abc\n"
)
NOT_FOUND_404 = (
    b"HTTP/1.1 404 Not Found\r\n"
    b"Server: nginx/1.22.1\r\n"
    b"Content-Type: text/html\r\n"
    b"Content-Length: 153\r\n"
    b"Connection: close\r\n"
    b"\r\n"
    b"<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n"
    b"<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n"
    b"</body>\r\n</html>\r\n"
)
SS_LINE = (
    'LISTEN 0      128        127.0.0.1:7001      0.0.0.0:*    '
    'users:(("python3",pid=1234,fd=3),("python3",pid=1240,fd=3))\n'
)


@pytest.fixture(params=["http.client", "httpx"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setattr(http, "_BACKGROUND", http._Background())
    if request.param == "httpx":
        http.prepare(wait=True)
    yield request.param
    assert http.backend() == request.param


@pytest.fixture
def admin_socket(tmp_path: Path) -> Path:
    return tmp_path / "admin.sock"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(GENERATION_200, "5-abc", id="200"),
        pytest.param(GENERATION_200.replace(b"5-abc\n", b"12-0badc0de\n").replace(
            b"Content-Length: 6", b"Content-Length: 12"), "12-0badc0de", id="200-longer-token"),
        pytest.param(GENERATION_200.replace(b"Content-Length: 6", b"Content-Length: 2"), "5-",
                     id="200-content-length-is-the-body"),
        pytest.param(b"HTTP/1.0 200 OK\r\n\r\n  7-ff  \r\n", "7-ff", id="http-1.0-padded"),
        pytest.param(NOT_FOUND_404, None, id="404"),
        pytest.param(GENERATION_200.replace(b"200 OK", b"502 Bad Gateway"), None, id="502"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", None, id="200-empty-body"),
        pytest.param(b"HTTP/1.1 200 OK\r\n", None, id="headers-cut-off"),
        pytest.param(b"garbage", None, id="garbage"),
        pytest.param(b"\x00\xff\xfe\r\n\r\n5-abc", None, id="binary"),
        pytest.param(b"SSH-2.0-OpenSSH_9.2\r\n", None, id="other-protocol"),
        pytest.param(b"", None, id="empty"),
    ],
)
def test_served_generation(backend: str, admin_socket: Path, raw: bytes,
                           expected: str | None) -> None:
    with replay(admin_socket, raw):
        assert nginx.served_generation(admin_socket) == expected


def test_each_read_is_a_fresh_connection(backend: str, admin_socket: Path) -> None:
    """Even when nginx would keep it open: a kept connection to an old worker would keep
    answering the old generation."""
    keep_alive = GENERATION_200.replace(b"Connection: close", b"Connection: keep-alive")
    with replay(admin_socket, keep_alive, keep_open=True) as server:
        assert [nginx.served_generation(admin_socket) for _ in range(3)] == ["5-abc"] * 3
    assert server.connections == 3


def test_no_socket_no_generation(backend: str, admin_socket: Path) -> None:
    assert nginx.served_generation(admin_socket) is None


def test_a_socket_that_never_answers_times_out(backend: str, admin_socket: Path) -> None:
    with replay(admin_socket, b"", keep_open=True):
        assert nginx.served_generation(admin_socket, timeout=0.2) is None


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (http.Probe(200, "5-abc\n"), "5-abc"),
        (http.Probe(200, "  \r\n"), None),
        (http.Probe(404, "5-abc"), None),
        (http.Probe(None, error="connection refused"), None),
    ],
)
def test_generation(answer: http.Probe, expected: str | None) -> None:
    assert nginx.generation(answer) == expected


@pytest.mark.parametrize(
    ("output", "pids"),
    [
        pytest.param(SS_LINE, {1234, 1240}, id="two-workers"),
        pytest.param(
            'LISTEN 0 511 127.0.0.1:8080 0.0.0.0:* users:(("nginx",pid=77,fd=6),'
            '("nginx",pid=76,fd=6),("nginx",pid=75,fd=6))\n'
            'LISTEN 0 511 [::1]:8080 [::]:* users:(("nginx",pid=77,fd=7))\n',
            {75, 76, 77}, id="nginx-two-lines"),
        pytest.param("LISTEN 0 128 127.0.0.1:7001 0.0.0.0:*\n", set(), id="pids-hidden"),
        pytest.param("", set(), id="empty"),
    ],
)
def test_parse_ss_pids(output: str, pids: set[int]) -> None:
    assert net.parse_ss_pids(output) == pids


@pytest.mark.parametrize(
    ("output", "count"),
    [
        ("", 0),
        ("\n\n", 0),
        ("ESTAB 0 0 127.0.0.1:51234 127.0.0.1:7001\n", 1),
        ("ESTAB 0 0 127.0.0.1:51234 127.0.0.1:7001\n"
         "ESTAB 0 0 127.0.0.1:51236 127.0.0.1:7001\n   \n"
         "ESTAB 0 0 127.0.0.1:51238 127.0.0.1:7001", 3),
    ],
)
def test_count_lines(output: str, count: int) -> None:
    assert net.count_lines(output) == count
