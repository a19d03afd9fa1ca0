"""Root endpoints: the CI and production root.json by version, root uploads, the first root key."""

from __future__ import annotations

from appliance.core.errors import InputFormatError, Refusal
from appliance.core.keys import SignatureEntry
from appliance.core.metadata import Envelope, Root

from .routing import FACTORY, REPO, Call, Reply, Route, Site, error_reply, json_reply, route
from .rules import check_ci_upload, check_prod_upload
from .waves import publishable, resigned


def _label(production: bool) -> str:
    return "production" if production else "CI"


def get_root(site: Site, call: Call) -> Reply:
    version = call.match.groupdict().get("version")
    number = int(version) if version is not None else None
    production = call.flag("production")
    data = site.state.root_bytes(call.factory, production, number)
    if data is None:
        return error_reply(
            404, "no-such-version", f"factory {call.factory} has no {_label(production)} root version {number}"
        )
    return Reply(200, data)


def first_root(site: Site, call: Call) -> Reply:
    first = site.state.first_root_sec(call.factory)
    if first is None or site.state.first_root_keyid(call.factory) is None:
        return error_reply(404, "no-first-root", f"factory {call.factory} has no first root key to hand out")
    return Reply(200, first)


def upload(site: Site, call: Call) -> Reply:
    factory, production, state = call.factory, call.flag("production"), site.state
    with site.lock:
        if production:
            remaining = state.take_fault("fail_prod_uploads")
            if remaining is not None:
                return error_reply(
                    503,
                    "unavailable",
                    f"production root upload refused by an injected fault ({remaining} more pending); retry",
                    (("Retry-After", "1"),),
                )
        now = site.clock()
        current_prod = state.root(factory, True)
        assert current_prod is not None
        if production:
            new = check_prod_upload(
                call.body, current_prod=current_prod, ci_root_at=lambda n: state.root(factory, False, n), now=now
            )
            resigned_targets = _resigned_production_targets(site, factory, new)
        else:
            current_ci = state.root(factory, False)
            assert current_ci is not None
            new = check_ci_upload(call.body, current_ci=current_ci, current_prod=current_prod, now=now)
        state.store_root(factory, production, new.version, call.body)
        if production:
            for tag, envelope in resigned_targets.items():
                site.waves(factory).save_production_targets(tag, envelope)
    message = f"{_label(production)} root version {new.version} stored"
    return json_reply(200, {"message": message, "version": new.version})


def _resigned_production_targets(site: Site, factory: str, new_prod: Root) -> dict[str, Envelope]:
    """Apply a root's ``targets-signatures``; every tag must then meet the new threshold."""
    raw = new_prod.envelope.extra.get("targets-signatures")
    store = site.waves(factory)
    out: dict[str, Envelope] = {}
    if raw is not None:
        if not isinstance(raw, dict):
            raise Refusal(400, "bad-request", "targets-signatures must be an object")
        for tag, sigs in raw.items():
            current = store.production_targets(tag)
            if current is None or not isinstance(sigs, list):
                raise Refusal(400, "bad-request", f"targets-signatures names unknown tag {tag!r}")
            try:
                entries = [SignatureEntry.from_dict(s) for s in sigs]
            except InputFormatError as exc:
                raise Refusal(400, "bad-request", exc.message) from exc
            out[tag] = resigned(current, entries, new_prod)
    for tag in store.tags():
        if tag not in out:
            current = store.production_targets(tag)
            assert current is not None
            publishable(current, new_prod)  # a new production root may not orphan published targets
    return out


ROUTES: tuple[Route, ...] = (
    route(REPO + r"root\.json\Z", "GET", get_root),
    route(REPO + r"(?P<version>[0-9]{1,9})\.root\.json\Z", "GET", get_root),
    route(REPO + r"root\Z", "POST", upload),
    route(FACTORY + r"first_root\.sec\Z", "GET", first_root),
)
