"""A total deadline for one HTTP exchange, however slowly the server answers.

A socket timeout bounds each read, not the exchange: a server that sends one byte every
few seconds never trips it.  ``Watch`` is armed with the time left; when it fires it shuts
down every socket the exchange opened, which makes any blocked read return at once, and
the client reports the deadline.  ``watched_handlers`` are urllib handlers whose
connections register their sockets with the watch of the exchange in progress.
"""

from __future__ import annotations

import http.client
import socket
import threading
import urllib.request
from collections.abc import Callable
from typing import Any


class Watch:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(seconds, 0.0), self.expire)
        self._timer.daemon = True

    def __enter__(self) -> Watch:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()

    def add(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shut(sock)

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _watched(base: type[http.client.HTTPConnection], current: Callable[[], Watch | None]) -> Callable[..., Any]:
    class Connection(base):  # type: ignore[valid-type, misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            create: Callable[..., socket.socket] = self._create_connection  # type: ignore[has-type]

            def create_and_watch(*a: Any, **k: Any) -> socket.socket:
                sock: socket.socket = create(*a, **k)
                watch = current()
                if watch is not None:
                    watch.add(sock)  # the raw socket: covers a slow TLS handshake too
                return sock

            self._create_connection = create_and_watch

        def connect(self) -> None:
            super().connect()
            watch = current()
            if watch is not None and self.sock is not None:
                watch.add(self.sock)

    return Connection


def watched_handlers(current: Callable[[], Watch | None]) -> list[urllib.request.BaseHandler]:
    plain = _watched(http.client.HTTPConnection, current)
    tls = _watched(http.client.HTTPSConnection, current)

    class HTTPHandler(urllib.request.HTTPHandler):
        def http_open(self, req: Any) -> Any:
            return self.do_open(plain, req)

    class HTTPSHandler(urllib.request.HTTPSHandler):
        def https_open(self, req: Any) -> Any:
            return self.do_open(tls, req, context=self._context)  # type: ignore[attr-defined]

    return [HTTPHandler(), HTTPSHandler()]
