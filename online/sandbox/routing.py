"""What the sandbox's endpoints share: the reply, the call they answer, the site they work on.

Each API area (routes_roots, routes_targets, routes_transactions, routes_waves,
routes_users) exports ``ROUTES``: ``(path pattern, method, handler)`` rows that
``app.SandboxApp`` dispatches.  Handlers take the ``Site`` and the authenticated ``Call``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from appliance.core.errors import Refusal
from appliance.core.strictjson import dumps_compact

from .state import SandboxState, User
from .wavestore import WaveStore

Clock = Callable[[], datetime]
Log = Callable[[str], None]

REPO = r"^/ota/repo/(?P<factory>[^/]+)/api/v1/user_repo/"
FACTORY = r"^/ota/factories/(?P<factory>[^/]+)/"
_TRUE = frozenset({"1", "true", "yes"})


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


def json_reply(status: int, obj: object, headers: tuple[tuple[str, str], ...] = ()) -> Reply:
    return Reply(status, dumps_compact(obj) + b"\n", headers)


def refusal_reply(refusal: Refusal, headers: tuple[tuple[str, str], ...] = ()) -> Reply:
    return json_reply(refusal.status, refusal.body(), headers)


def error_reply(status: int, code: str, message: str, headers: tuple[tuple[str, str], ...] = ()) -> Reply:
    return json_reply(status, {"error": code, "message": message}, headers)


def no_online_key(factory: str) -> Reply:
    return error_reply(404, "no-online-key", f"factory {factory} was seeded without its online keys")


@dataclass(frozen=True)
class Site:
    """The state directory, the clock and the one lock around every mutation."""

    state: SandboxState
    clock: Clock
    lock: threading.Lock

    def waves(self, factory: str) -> WaveStore:
        return WaveStore(self.state.factory_dir(factory))


@dataclass(frozen=True)
class Call:
    """One authenticated request: its factory, user, path match, query and body (empty for GET)."""

    factory: str
    user: User
    match: re.Match[str]
    path: str
    query: Mapping[str, list[str]]
    body: bytes

    def flag(self, name: str) -> bool:
        return any(v.lower() in _TRUE for v in self.query.get(name, []))

    def param(self, name: str, default: Any = "") -> Any:
        return self.query.get(name, [default])[0]


Handler = Callable[[Site, Call], Reply]
Route = tuple[re.Pattern[str], str, Handler]


def route(pattern: str, method: str, handler: Handler) -> Route:
    return re.compile(pattern), method, handler
