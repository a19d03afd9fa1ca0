"""``users/self``: who the token belongs to."""

from __future__ import annotations

from .routing import FACTORY, Call, Reply, Route, Site, json_reply, route


def user_self(site: Site, call: Call) -> Reply:
    # fioctl reads polis-id (UserAccessDetails(f, "self")) for x-changelog and x-key-owners.
    user = call.user
    role = "owner" if user.polis_id == site.state.info(call.factory).polis_id else "admin"
    me = {"polis-id": user.polis_id, "name": user.name, "role": role, "teams-ext": [], "effective-scopes": []}
    return json_reply(200, me)


ROUTES: tuple[Route, ...] = (route(FACTORY + r"users/self/?\Z", "GET", user_self),)
