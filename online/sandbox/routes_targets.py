"""Targets endpoints: CI targets.json and its online key, production targets and their re-signing."""

from __future__ import annotations

from appliance.core.keys import public_key_file

from .routing import FACTORY, REPO, Call, Reply, Route, Site, error_reply, json_reply, no_online_key, route
from .waves import ci_targets_of_version


def targets_json(site: Site, call: Call) -> Reply:
    data = site.state.targets_bytes(call.factory)
    if data is None:
        return no_online_key(call.factory)
    return Reply(200, data)


def ci_key(site: Site, call: Call) -> Reply:
    if not site.state.has_online_key(call.factory, "targets"):
        return no_online_key(call.factory)
    key = site.state.online_key(call.factory, "targets")
    return Reply(200, public_key_file(key.public_key))


def production_targets(site: Site, call: Call) -> Reply:
    tags: str = call.param("tag")
    store = site.waves(call.factory)
    wanted = [t for t in tags.split(",") if t] or store.tags()
    found = {tag: env.to_dict() for tag in wanted if (env := store.production_targets(tag)) is not None}
    if not found:
        return error_reply(
            404, "no-production-targets", f"factory {call.factory} has no production targets for {tags!r}"
        )
    return json_reply(200, found)


def ci_targets(site: Site, call: Call) -> Reply:
    """fioctl ``TargetsList``: ``{name: target}`` of the CI targets.json, of one version if asked."""
    if site.state.targets_bytes(call.factory) is None:
        return no_online_key(call.factory)
    return json_reply(200, ci_targets_of_version(site.state.ci_targets(call.factory), call.param("version", None)))


def resign_targets(site: Site, call: Call) -> Reply:
    from .resign import accept_resigned_targets

    factory, tag = call.factory, call.match.group("tag")
    with site.lock:
        store = site.waves(factory)
        prod = site.state.root(factory, True)
        assert prod is not None
        envelope = accept_resigned_targets(
            call.body,
            tag=tag,
            current=store.production_targets(tag),
            prod_root=prod,
            online=site.state.online_key(factory, "targets"),
            now=site.clock(),
        )
        store.save_production_targets(tag, envelope)
    return json_reply(200, {"message": f"production targets {tag} re-signed", "expires": envelope.signed["expires"]})


ROUTES: tuple[Route, ...] = (
    route(REPO + r"targets\.json\Z", "GET", targets_json),
    route(FACTORY + r"ci-targets\.pub\Z", "GET", ci_key),
    route(FACTORY + r"prod-targets/\Z", "GET", production_targets),
    route(FACTORY + r"targets/\Z", "GET", ci_targets),
    route(FACTORY + r"prod-targets/(?P<tag>[^/]+)/resign/\Z", "POST", resign_targets),
)
