"""Real local servers for the HTTP client's tests: an app on a free 127.0.0.1 port (http or
https) that records what it receives, a unix-socket server replaying recorded answers, and a
CA with a server certificate made by the openssl CLI."""

from __future__ import annotations

import socket
import socketserver
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from helpers import require_tool

TRICKLE: float = 0.05  # seconds between the bytes of a trickled answer


@dataclass
class Seen:
    """One request as the server received it."""

    path: str
    version: str
    headers: dict[str, str]
    client_port: int


@dataclass
class App:
    """A running test app: its port, what it received, and how many connections it accepted."""

    port: int
    requests: list[Seen] = field(default_factory=list)
    connections: set[int] = field(default_factory=set)
    release: threading.Event = field(default_factory=threading.Event)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # may keep a connection open: the client must not reuse it
    server: _Server

    def do_GET(self) -> None:
        app = self.server.app
        app.requests.append(Seen(self.path, self.request_version,
                                 {k.lower(): v for k, v in self.headers.items()},
                                 self.client_address[1]))
        app.connections.add(self.client_address[1])
        route = getattr(self, "_" + self.path.strip("/").split("/")[0].split("?")[0], None)
        if route is None:
            self._send(200, b"ok\n")
        else:
            route()

    def _send(self, status: int, body: bytes, *extra: tuple[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _status(self) -> None:
        code = int(self.path.rsplit("/", 1)[1])
        self._send(code, b"" if code == 204 else f"status {code}\n".encode())

    def _big(self) -> None:
        self._send(200, b"x" * 10_000)

    def _cookie(self) -> None:
        self._send(200, b"ok\n", ("Set-Cookie", "session=abc; Path=/"))

    def _keepalive(self) -> None:
        self._send(200, b"ok\n", ("Connection", "keep-alive"))
        self.close_connection = False  # even if asked to close: the client must close

    def _chunked(self) -> None:
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.write(b"2\r\nre\r\n3\r\nady\r\n0\r\n\r\n")

    def _hang(self) -> None:
        self.server.app.release.wait(30)
        self.close_connection = True

    def _trickle(self) -> None:
        # A status line, then one header byte at a time: every read gets data in time, so
        # only a deadline on the whole request ends it.
        self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
        self._drip()

    def _slowbody(self) -> None:
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
        self._drip()

    def _drip(self) -> None:
        app = self.server.app
        while not app.release.wait(TRICKLE):
            try:
                self.wfile.write(b"a")
                self.wfile.flush()
            except OSError:
                break
        self.close_connection = True

    def _truncated(self) -> None:
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nok")
        self.close_connection = True

    def _close(self) -> None:
        self.close_connection = True

    def _garbage(self) -> None:
        # A whole head, so that h11 (httpx) parses it before the connection closes.
        self.wfile.write(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    app: App


@contextmanager
def run_app(tls: ssl.SSLContext | None = None) -> Iterator[App]:
    """An app on a free 127.0.0.1 port, served from a thread until the block ends."""
    server = _Server(("127.0.0.1", 0), _Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    server.app = App(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server.app
    finally:
        server.app.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass
class Replay:
    """A unix-socket server that answers every connection with `answer`, then closes it
    (unless keep_open), counting the connections."""

    path: Path
    answer: bytes
    keep_open: bool = False
    connections: int = 0


@contextmanager
def replay(path: Path, answer: bytes, *, keep_open: bool = False) -> Iterator[Replay]:
    state = Replay(path, answer, keep_open)

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            state.connections += 1
            conn: socket.socket = self.request
            data = b""
            while b"\r\n\r\n" not in data and (chunk := conn.recv(4096)):
                data += chunk
            conn.sendall(state.answer)
            while state.keep_open and conn.recv(4096):
                pass  # wait for the client to close its side

    class Server(socketserver.ThreadingUnixStreamServer):
        daemon_threads = True

    server = Server(str(path), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass(frozen=True)
class Certs:
    ca: Path  # the CA's certificate: what tls_verify points at
    cert: Path  # the server's, for app.test and 127.0.0.1, signed by the CA
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context


def make_certs(folder: Path) -> Certs:
    """A CA and a server certificate for app.test and 127.0.0.1, by the openssl CLI."""
    openssl = require_tool("openssl")
    ca, ca_key = folder / "ca.pem", folder / "ca.key"
    cert, key, csr = folder / "server.pem", folder / "server.key", folder / "server.csr"
    ext = folder / "server.ext"
    ext.write_text("subjectAltName=DNS:app.test,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                   "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
                   "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid,issuer\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for argv in (
        [openssl, "req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "2",
         "-subj", "/CN=bluegreen test CA",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        [openssl, "req", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=app.test"],
        [openssl, "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
         "-out", cert, "-days", "2", "-extfile", ext],
    ):
        subprocess.run([str(a) for a in argv], check=True, capture_output=True, timeout=60)
    return Certs(ca, cert, key)
