"""``SandboxApp``: one request (method, target, token, body) to a ``Reply`` through the route table.

Routing, the token check and the error frame live here; each API area's handlers live in
its ``routes_*`` module.  Endpoints, checks and error codes are specified in bundle-spec.md §3.
"""

from __future__ import annotations

import hmac
import threading
import traceback
from urllib.parse import parse_qs, urlsplit

from appliance.core.errors import AirgapError, Refusal

from ..api import TOKEN_HEADER
from . import routes_roots, routes_targets, routes_transactions, routes_users, routes_waves
from .routing import Call, Clock, Log, Reply, Route, Site, error_reply, refusal_reply, utc_now
from .state import SandboxState

ROUTES: tuple[Route, ...] = (
    *routes_roots.ROUTES,
    *routes_targets.ROUTES,
    *routes_transactions.ROUTES,
    *routes_users.ROUTES,
    *routes_waves.ROUTES,
)


class SandboxApp:
    """Request handling against a state directory; thread-safe (one lock around every mutation)."""

    def __init__(self, state: SandboxState, clock: Clock = utc_now, log: Log | None = None) -> None:
        self.state = state
        self.clock = clock
        self.log = log
        self.lock = threading.Lock()
        self.site = Site(state, clock, self.lock)

    def handle(self, method: str, target: str, token: str | None, body: bytes | Refusal) -> Reply:
        try:
            return self._handle(method, target, token, body)
        except Refusal as refusal:
            return refusal_reply(refusal)
        except AirgapError as exc:
            return error_reply(500, "internal", f"sandbox state problem: {exc.message}")
        except Exception:  # the server must answer, whatever went wrong
            if self.log is not None:
                self.log(traceback.format_exc())
            return error_reply(500, "internal", "internal sandbox error")

    def _handle(self, method: str, target: str, token: str | None, body: bytes | Refusal) -> Reply:
        split = urlsplit(target)
        path = split.path
        matched = [(m, allowed, handler) for pattern, allowed, handler in ROUTES if (m := pattern.match(path))]
        if not matched:
            return error_reply(404, "no-such-endpoint", f"there is no endpoint {path}")
        found = next(((m, handler) for m, allowed, handler in matched if allowed == method), None)
        if found is None:
            allowed_methods = ", ".join(sorted({allowed for _, allowed, _ in matched}))
            return error_reply(
                405,
                "method-not-allowed",
                f"{method} is not allowed on {path}; allowed: {allowed_methods}",
                (("Allow", allowed_methods),),
            )
        match, handler = found
        factory = match.group("factory")
        if not self.state.has_factory(factory):
            return error_reply(404, "no-such-factory", f"factory {factory!r} does not exist")
        if token is None:
            return error_reply(401, "unauthorized", f"the request has no {TOKEN_HEADER} header")
        offered = token.encode("utf-8", "replace")
        user = next(
            (u for u in self.state.info(factory).all_users() if hmac.compare_digest(offered, u.token.encode("utf-8"))),
            None,
        )
        if user is None:
            return error_reply(401, "unauthorized", f"the {TOKEN_HEADER} token is not valid for factory {factory}")
        if isinstance(body, Refusal):
            if method != "GET":  # a GET's body is never read
                return refusal_reply(body)
            body = b""
        query = parse_qs(split.query, keep_blank_values=True)
        return handler(self.site, Call(factory, user, match, path, query, body))
