"""The sandbox factory server: ``app.SandboxApp`` over HTTP on loopback.

``SandboxServer`` wraps the app in the standard library's ThreadingHTTPServer, in a
background thread (tests, rehearsal) or in the foreground (``sandbox serve``).
Endpoints, checks and error codes are specified in bundle-spec.md §3.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from appliance.core.errors import Refusal, UsageError

from ..api import TOKEN_HEADER
from .app import SandboxApp
from .routing import Clock, Log, Reply, error_reply, utc_now
from .rules import MAX_UPLOAD_BYTES
from .state import SandboxState

DEFAULT_PORT = 8765
REQUEST_TIMEOUT = 15.0
DISCARD_LIMIT = 64 * 1024 * 1024  # oversize bodies up to this are read and dropped so the 413 reaches the client


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    timeout = REQUEST_TIMEOUT
    server_version = "tuf-airgap-sandbox/1"

    def version_string(self) -> str:
        return self.server_version

    def _read_body(self) -> bytes | Refusal:
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            return Refusal(411, "length-required", "chunked request bodies are not accepted; send Content-Length")
        raw = self.headers.get("Content-Length")
        if raw is None:
            if self.command == "POST":
                return Refusal(411, "length-required", "the request has no Content-Length header")
            return b""
        if not raw.isdigit():
            self.close_connection = True
            return Refusal(400, "bad-request", "Content-Length is not a number")
        length = int(raw)
        if length > MAX_UPLOAD_BYTES:
            if length <= DISCARD_LIMIT:
                remaining = length
                while remaining > 0:
                    chunk = self.rfile.read(min(remaining, 1024 * 1024))
                    if not chunk:
                        break
                    remaining -= len(chunk)
            self.close_connection = True
            return Refusal(413, "too-large", f"the body is {length} bytes; the limit is {MAX_UPLOAD_BYTES}")
        data = self.rfile.read(length)
        if len(data) != length:
            self.close_connection = True
            return Refusal(400, "bad-request", "the body is shorter than its Content-Length")
        return data

    def _dispatch(self) -> None:
        try:
            body = self._read_body()
        except (TimeoutError, OSError):
            self.close_connection = True
            return
        reply = self.server.app.handle(self.command, self.path, self.headers.get(TOKEN_HEADER), body)
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply.body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in reply.headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _dispatch

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Malformed requests and unknown methods get the same JSON error shape as everything else."""
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "error"
        self.close_connection = True
        self.log_error("code %d, message %s", code, message)
        self._send(error_reply(code, f"http-{code}", message or phrase))

    def log_message(self, format: str, *args: Any) -> None:
        log = self.server.app.log
        if log is not None:
            log(f"{self.address_string()} {format % args}")


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], app: SandboxApp, family: socket.AddressFamily) -> None:
        self.address_family = family
        self.app = app
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name, which can stall without DNS; loopback needs none.
        import socketserver

        socketserver.TCPServer.server_bind(self)
        self.server_name = str(self.server_address[0])
        self.server_port = int(self.server_address[1])


def loopback_host(host: str) -> tuple[str, socket.AddressFamily]:
    """The address to bind, refusing anything that is not loopback (127.0.0.0/8 or ::1)."""
    literal = "127.0.0.1" if host == "localhost" else host.strip("[]")
    try:
        address = ipaddress.ip_address(literal)
    except ValueError:
        address = None
    if address is None or not address.is_loopback:
        raise UsageError(
            f"refusing to listen on {host!r}: the sandbox server only binds loopback addresses",
            hint="Use --host 127.0.0.1 (or ::1).",
        )
    return str(address), socket.AF_INET6 if address.version == 6 else socket.AF_INET


class SandboxServer:
    """A sandbox factory server over ``state_dir``; ``port=0`` picks a free port.

    ``start()`` serves from a background thread and returns the base URL;
    ``serve_forever()`` serves in the calling thread; ``stop()`` ends either.
    Also a context manager: ``with SandboxServer(d) as server: server.url``.
    """

    def __init__(
        self,
        state_dir: Path,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        clock: Clock = utc_now,
        log: Log | None = None,
    ) -> None:
        self.host, self._family = loopback_host(host)
        self.port = port
        self.state = SandboxState(Path(state_dir))
        self.app = SandboxApp(self.state, clock, log)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    def bind(self) -> str:
        if self._httpd is None:
            if not self.state.directory.is_dir():
                raise UsageError(f"state directory {self.state.directory} does not exist")
            try:
                self._httpd = _HTTPServer((self.host, self.port), self.app, self._family)
            except OSError as exc:
                raise UsageError(
                    f"cannot listen on {self.host} port {self.port}: {exc.strerror}",
                    hint="Choose another --port, or stop the program that uses it.",
                ) from exc
            self.port = int(self._httpd.server_address[1])
        return self.url

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if self._family == socket.AF_INET6 else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> str:
        url = self.bind()
        if self._thread is None:
            assert self._httpd is not None
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="sandbox-server", daemon=True
            )
            self._thread.start()
        return url

    def serve_forever(self) -> None:
        self.bind()
        assert self._httpd is not None
        try:
            self._httpd.serve_forever(poll_interval=0.2)
        finally:
            self._httpd.server_close()
            self._httpd = None

    def stop(self) -> None:
        httpd, thread = self._httpd, self._thread
        self._httpd = self._thread = None
        if httpd is not None:
            if thread is not None:
                httpd.shutdown()
                thread.join(timeout=10)
            httpd.server_close()

    def inject_faults(self, *, fail_prod_uploads: int) -> None:
        """Make the next ``fail_prod_uploads`` production root uploads fail with 503."""
        with self.app.lock:
            self.state.set_faults(fail_prod_uploads=fail_prod_uploads)

    def __enter__(self) -> SandboxServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
