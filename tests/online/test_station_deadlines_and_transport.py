"""The station against slow servers (a total deadline per request and per import) and plain http."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from appliance.core.errors import RemoteError, UsageError
from online.client import HttpFactoryClient as FactoryClient
from online.client import check_server_url
from online.config import resolve_connection
from tests.helpers_ceremony import run


class Trickler:
    """A server on 127.0.0.1 that answers every connection one byte at a time, ``gap`` apart."""

    def __init__(self, answer: bytes, gap: float, fast: int = 0) -> None:
        self.answer, self.gap, self.fast = answer, gap, fast
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                conn.recv(65536)
                conn.sendall(self.answer[: self.fast])
                for byte in self.answer[self.fast :]:
                    if self.stop.is_set():
                        return
                    conn.sendall(bytes([byte]))
                    time.sleep(self.gap)
            except OSError:
                return

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


BODY_TRICKLE = b"HTTP/1.1 200 OK\r\nContent-Length: 4000000\r\n\r\n" + b"{" * 10_000
HEADER_TRICKLE = b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"a" * 10_000 + b"\r\n\r\n"


@pytest.fixture(params=[BODY_TRICKLE, HEADER_TRICKLE], ids=["body", "headers"])
def trickler(request: pytest.FixtureRequest) -> Iterator[Trickler]:
    """One byte every 0.4 s (after the headers, or from the start): each read is quick, so only
    a total deadline ends it."""
    fast = BODY_TRICKLE.index(b"\r\n\r\n") + 4 if request.param is BODY_TRICKLE else 0
    server = Trickler(request.param, 0.4, fast)
    try:
        yield server
    finally:
        server.close()


def test_a_trickling_server_fails_after_the_request_deadline(trickler: Trickler) -> None:
    client = FactoryClient(trickler.url, "t0ken", "acme", timeout=1.5)
    started = time.monotonic()
    with pytest.raises(RemoteError, match=r"no answer within 1.5 s from 127\.0\.0\.1"):
        client.get_root()
    assert time.monotonic() - started < 5


def test_the_import_deadline_bounds_all_requests_together(trickler: Trickler) -> None:
    client = FactoryClient(trickler.url, "t0ken", "acme", timeout=30, total_deadline=time.monotonic() + 1.2)
    started = time.monotonic()
    with pytest.raises(RemoteError, match="no answer within"):
        client.get_root()
    with pytest.raises(RemoteError, match="the time allowed for this operation is used up"):
        client.get_root(production=True)
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    "url", ["http://api.foundries.io", "http://10.0.0.5:8080", "http://[2001:db8::1]", "http://localhost.evil.example"]
)
def test_plain_http_to_a_non_loopback_server_is_refused(url: str) -> None:
    with pytest.raises(UsageError, match="uses http:// for a host that is not loopback"):
        check_server_url(url)
    assert check_server_url(url, insecure_http=True) == url
    with pytest.raises(UsageError, match="the API token would travel in clear"):
        resolve_connection(url, "acme", "t0ken", None, env={})
    assert resolve_connection(url, "acme", "t0ken", None, env={"TUF_ONLINE_INSECURE_HTTP": "1"}).server == url


@pytest.mark.parametrize("url", ["http://127.0.0.1:8765", "http://localhost:1", "http://[::1]:2", "https://h.example"])
def test_loopback_http_and_https_are_accepted(url: str) -> None:
    assert check_server_url(url) == url


def test_cli_refuses_plain_http_unless_told() -> None:
    refused = run("online", "show-root", "--server", "http://192.0.2.1", "--factory", "acme", "--token", "x")
    assert refused.returncode == 2, refused.stderr
    assert "uses http:// for a host that is not loopback" in refused.stderr and "--insecure-http" in refused.stderr
    allowed = run(
        "online", "show-root", "--server", "http://127.0.0.1:9", "--factory", "acme", "--token", "x", "--insecure-http"
    )
    assert allowed.returncode == 8  # got as far as connecting (nothing listens there)
