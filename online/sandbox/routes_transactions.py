"""Root updates transactions (``root/updates``…): the endpoints over ``transactions.Transactions``."""

from __future__ import annotations

from collections.abc import Callable

from appliance.core.strictjson import JsonObject

from .routing import REPO, Call, Handler, Reply, Route, Site, json_reply, route
from .transactions import Transactions


def _at_desk(status: int, act: Callable[[Transactions, Call], JsonObject]) -> Handler:
    """A handler that does ``act`` on the factory's transaction under the lock and answers ``status``."""

    def handler(site: Site, call: Call) -> Reply:
        with site.lock:
            return json_reply(status, act(Transactions(site.state, call.factory, site.clock()), call))

    return handler


ROUTES: tuple[Route, ...] = (
    route(REPO + r"root/updates\Z", "GET", _at_desk(200, lambda desk, call: desk.get())),
    route(REPO + r"root/updates\Z", "POST", _at_desk(201, lambda desk, call: desk.init(call.user, call.body))),
    route(REPO + r"root/updates\Z", "PUT", _at_desk(200, lambda desk, call: desk.put(call.user, call.body))),
    route(REPO + r"root/updates/apply\Z", "POST", _at_desk(200, lambda desk, call: desk.apply(call.user, call.body))),
    route(REPO + r"root/updates/cancel\Z", "POST", _at_desk(200, lambda desk, call: desk.cancel())),
    route(
        REPO + r"root/updates/gen-online-keys\Z",
        "POST",
        _at_desk(200, lambda desk, call: desk.gen_online_keys(call.user, call.body)),
    ),
)
