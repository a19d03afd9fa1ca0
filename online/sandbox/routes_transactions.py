"""Root updates transactions (``root/updates``…): the endpoints over ``transactions.Transactions``."""

from __future__ import annotations

from .routing import REPO, Call, Reply, Route, Site, json_reply, route
from .transactions import Transactions


def _desk(site: Site, call: Call) -> Transactions:
    return Transactions(site.state, call.factory, site.clock())


def get(site: Site, call: Call) -> Reply:
    with site.lock:
        return json_reply(200, _desk(site, call).get())


def init(site: Site, call: Call) -> Reply:
    with site.lock:
        return json_reply(201, _desk(site, call).init(call.user, call.body))


def put(site: Site, call: Call) -> Reply:
    with site.lock:
        return json_reply(200, _desk(site, call).put(call.user, call.body))


def apply(site: Site, call: Call) -> Reply:
    with site.lock:
        return json_reply(200, _desk(site, call).apply(call.user, call.body))


def cancel(site: Site, call: Call) -> Reply:
    with site.lock:
        return json_reply(200, _desk(site, call).cancel())


def gen_online_keys(site: Site, call: Call) -> Reply:
    with site.lock:
        return json_reply(200, _desk(site, call).gen_online_keys(call.user, call.body))


ROUTES: tuple[Route, ...] = (
    route(REPO + r"root/updates\Z", "GET", get),
    route(REPO + r"root/updates\Z", "POST", init),
    route(REPO + r"root/updates\Z", "PUT", put),
    route(REPO + r"root/updates/apply\Z", "POST", apply),
    route(REPO + r"root/updates/cancel\Z", "POST", cancel),
    route(REPO + r"root/updates/gen-online-keys\Z", "POST", gen_online_keys),
)
