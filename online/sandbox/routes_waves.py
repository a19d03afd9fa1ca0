"""Wave endpoints: create, list, show, sign, roll out, complete and cancel (rules in waves.py)."""

from __future__ import annotations

from typing import Any

from appliance.core.errors import Refusal
from appliance.core.metadata import Envelope, Root
from appliance.core.targets import add_signatures
from appliance.core.timefmt import format_expires
from appliance.core.verify import check_role

from .routing import FACTORY, Call, Reply, Route, Site, error_reply, json_reply, route
from .waves import accept_wave, checked_signatures, publishable, rollout_options
from .wavestore import ACTIVE, CANCELED, COMPLETE, STATUSES, WaveStore

_WAVE = FACTORY + r"waves/(?P<wave>[^/]+)/"


def _without_targets(wave: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in wave.items() if k != "targets"}


def get_wave(site: Site, call: Call) -> Reply:
    name = call.match.group("wave")
    wave = site.waves(call.factory).wave(name)
    if wave is None:
        return error_reply(404, "no-such-wave", f"factory {call.factory} has no wave {name!r}")
    return json_reply(200, wave if call.flag("show-targets") else _without_targets(wave))


def list_waves(site: Site, call: Call) -> Reply:
    """``GET waves/?limit&page[&status][&tag]`` → ``{waves, total, next}``, newest first."""
    try:
        limit = int(call.param("limit", "20"))
        page = int(call.param("page", "1"))
    except ValueError:
        return error_reply(400, "bad-request", "limit and page must be integers")
    status, tag = call.param("status"), call.param("tag")
    if limit < 1 or page < 1 or (status and status not in STATUSES):
        return error_reply(400, "bad-request", f"limit and page start at 1; status is one of {STATUSES}")
    waves = [
        w
        for w in site.waves(call.factory).waves()
        if (not status or w.get("status") == status) and (not tag or w.get("tag") == tag)
    ]
    waves.sort(key=lambda w: (w["change-meta"]["created-at"], w["name"]), reverse=True)
    shown = waves[(page - 1) * limit : page * limit]
    more = len(waves) > page * limit
    next_page = f"{call.path}?limit={limit}&page={page + 1}" if more else None
    listed = [_without_targets(w) for w in shown]
    return json_reply(200, {"waves": listed, "total": len(waves), "next": next_page})


def create_wave(site: Site, call: Call) -> Reply:
    factory, user = call.factory, call.user
    with site.lock:
        store = site.waves(factory)
        prod = site.state.root(factory, True)
        assert prod is not None
        name, version_text, tag, targets = accept_wave(
            call.body,
            prod_root=prod,
            production_targets=store.production_targets,
            ci_targets=site.state.ci_targets(factory),
            online=site.state.online_key(factory, "targets"),
            now=site.clock(),
        )
        if store.wave(name) is not None:
            return error_reply(409, "wave-exists", f"wave {name} already exists")
        stamp = format_expires(site.clock())
        wave = {
            "name": name,
            "version": version_text,
            "tag": tag,
            "status": ACTIVE,
            "targets": targets.to_dict(),
            "rollout-groups": {},
            "rollout-history": [],
            "change-meta": {"created-at": stamp, "created-by": user.polis_id, "updated-at": "", "updated-by": ""},
        }
        store.save_wave(wave, new=True)
        result = check_role(targets, prod, "targets")
    return json_reply(201, {**_without_targets(wave), "threshold-met": result.met})


def _open_wave(site: Site, call: Call) -> tuple[WaveStore, dict[str, Any], Envelope, Root]:
    """An active wave with its targets and the current production root (caller holds the lock)."""
    factory, name = call.factory, call.match.group("wave")
    store = site.waves(factory)
    wave = store.wave(name)
    if wave is None:
        raise Refusal(404, "no-such-wave", f"factory {factory} has no wave {name!r}")
    if wave.get("status") != ACTIVE:
        raise Refusal(409, "wave-closed", f"wave {name} is {wave.get('status')}")
    prod = site.state.root(factory, True)
    assert prod is not None
    return store, wave, Envelope.from_dict(wave["targets"], what="stored wave targets"), prod


def sign_wave(site: Site, call: Call) -> Reply:
    with site.lock:
        store, wave, envelope, prod = _open_wave(site, call)
        merged = add_signatures(envelope, checked_signatures(call.body, envelope, prod))
        store.save_wave({**wave, "targets": merged.to_dict()}, new=False)
        result = check_role(merged, prod, "targets")
    message = f"wave {call.match.group('wave')} signed: {result.describe()}"
    return json_reply(200, {"message": message, "threshold-met": result.met})


def rollout_wave(site: Site, call: Call) -> Reply:
    """fioctl ``WaveRolloutResult``; the sandbox has no devices, so every rollout reaches 0 of them."""
    user = call.user
    with site.lock:
        store, wave, envelope, prod = _open_wave(site, call)
        options = rollout_options(call.body)
        publishable(envelope, prod)
        group = options.get("group", "")
        if not options.get("dry-run", False):
            stamp = format_expires(site.clock())
            entry = {
                "group-name": group,
                "rollout-by": user.polis_id,
                "rollout-at": stamp,
                "is-full-group": bool(group) and not options.get("uuids") and not options.get("limit"),
                "is-factory-wide": not group,
                "num-devices": 0,
            }
            groups = dict(wave.get("rollout-groups", {}))
            if group and group not in groups:
                ref = {"group-id": len(groups) + 1, "group-name": group, "created-at": stamp}
                groups[group] = ref | {"created-by": user.polis_id}
            history = [*wave.get("rollout-history", []), entry]
            wave = {**wave, "rollout-groups": groups, "rollout-history": history}
            store.save_wave(wave, new=False)
    result = {**_without_targets(wave), "device-num": 0, "device-uuids": [], "device-names": []}
    return json_reply(200, result)


def _finish_wave(site: Site, call: Call, status: str) -> Reply:
    with site.lock:
        store, wave, envelope, prod = _open_wave(site, call)
        if status == COMPLETE:
            publishable(envelope, prod)
            store.save_production_targets(wave["tag"], envelope)
        meta = {**wave["change-meta"], "updated-at": format_expires(site.clock()), "updated-by": call.user.polis_id}
        store.save_wave({**wave, "status": status, "change-meta": meta}, new=False)
    return json_reply(200, {"message": f"wave {call.match.group('wave')} is {status}"})


def complete_wave(site: Site, call: Call) -> Reply:
    return _finish_wave(site, call, COMPLETE)


def cancel_wave(site: Site, call: Call) -> Reply:
    return _finish_wave(site, call, CANCELED)


ROUTES: tuple[Route, ...] = (
    route(FACTORY + r"waves/\Z", "POST", create_wave),
    route(FACTORY + r"waves/\Z", "GET", list_waves),
    route(_WAVE + r"\Z", "GET", get_wave),
    route(_WAVE + r"sign/\Z", "POST", sign_wave),
    route(_WAVE + r"rollout/\Z", "POST", rollout_wave),
    route(_WAVE + r"complete/\Z", "POST", complete_wave),
    route(_WAVE + r"cancel/\Z", "POST", cancel_wave),
)
