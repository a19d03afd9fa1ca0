"""Waves on the station: build the request for ``waves init``, and post what the appliance signed.

Export fetches what fioctl's ``waves init`` fetches (CI targets of the version, the
tag's production targets, the online targets key, plus the root histories every
request carries), builds the wave's production targets with the same core rules the
appliance re-applies, and exports them unsigned.  Import checks the appliance's
signatures against the production root, refuses if the tag's production targets
moved since export, and posts ``{name, version, tag, targets: {signed, signatures}}``
as fioctl does; re-running after a crash finds the wave already there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from appliance.common.render import console
from appliance.core.bundle import Request
from appliance.core.errors import BundleError, RemoteError, VerificationError
from appliance.core.keys import SignatureEntry
from appliance.core.metadata import Envelope
from appliance.core.rootpair import parse_chain
from appliance.core.targets import add_signatures
from appliance.core.verify import check_role
from appliance.core.waves import WaveParameters, build_wave_targets

from .client import HTTPStatusError
from .config import make_client
from .station import Station
from .targets_api import create_wave, get_ci_targets, get_production_targets, get_wave


def online_key(client: Any) -> dict[str, Any]:
    from appliance.core.keys import parse_public_key_file

    return parse_public_key_file(client.get_ci_targets_key(), what="online CI targets key").to_dict()


def init_wave_payload(client: Any, params: WaveParameters) -> dict[str, Any]:
    """The request payload of ``init-wave`` (beyond the root histories)."""
    ci_targets = get_ci_targets(client, params.version)
    current_raw = get_production_targets(client, params.tag).get(params.tag)
    current = None if current_raw is None else Envelope.from_dict(current_raw, what="production targets")
    built = build_wave_targets(params, ci_targets, current)
    if built.lacks_delta_stats:
        console().print(
            "warning: this Target version has no static deltas; fioctl recommends `fioctl targets static-deltas` "
            "before creating a production wave"
        )
    wave = {
        "name": params.name,
        "version": params.version,
        "tag": params.tag,
        "targets": {"signatures": [], "signed": built.signed},
    }
    return {
        "online_targets_key": online_key(client),
        "ci_targets": ci_targets,
        "production_targets": current_raw,
        "wave": wave,
    }


def sign_wave_payload(client: Any, wave: str) -> dict[str, Any]:
    """The request payload of ``sign-targets`` (fioctl ``waves sign``)."""
    data = get_wave(client, wave)
    if not isinstance(data.get("targets"), dict):
        raise RemoteError(f"wave {wave} has no targets", hint="Create the wave first (waves init).")
    picked = {k: data[k] for k in ("name", "version", "tag", "targets") if k in data}
    tag = data.get("tag")
    current = get_production_targets(client, tag).get(tag) if isinstance(tag, str) and tag else None
    return {"online_targets_key": online_key(client), "wave": picked, "production_targets": current}


def _signatures(result: dict[str, Any], wave: str) -> list[SignatureEntry]:
    if result.get("wave") != wave:
        raise BundleError("response signs a different wave than the request")
    raw = result.get("signatures")
    if not isinstance(raw, list) or not raw:
        raise BundleError("response carries no signatures")
    return [SignatureEntry.from_dict(s) for s in raw]


def _checked(request: Request, envelope: Envelope, signatures: list[SignatureEntry]) -> Envelope:
    """Each signature must be valid by an offline targets key of the production root."""
    prod = parse_chain(request.payload["prod_roots"], "production root history")[-1]
    role = prod.meta.roles["targets"]
    for sig in signatures:
        one = Envelope(envelope.signed, (sig,), {}, envelope.canonical_signed)
        if sig.keyid not in role.keyids or not check_role(one, prod, "targets").count:
            raise VerificationError(f"the response's signature by {sig.keyid[:16]} does not verify")
    return add_signatures(envelope, signatures)


def import_init_wave(
    station: Station,
    request: Request,
    result: dict[str, Any],
    server: str | None,
    token: str | None,
    token_file: Path | None,
) -> None:
    params = WaveParameters.from_dict(request.parameters)
    wave = request.payload["wave"]
    proposed = Envelope.from_dict(wave["targets"], what="wave targets")
    signed = _checked(request, proposed, _signatures(result, params.name))
    client = make_client(server, token, token_file, request.factory)
    out = console()
    try:
        existing = get_wave(client, params.name)
    except HTTPStatusError as exc:
        if exc.status != 404:
            raise
        existing = None
    if existing is not None:
        there = Envelope.from_dict(existing.get("targets"), what="server wave targets")
        if there.signed_bytes() != signed.signed_bytes():
            raise RemoteError(
                f"the factory already has a different wave named {params.name}",
                hint="Choose another wave name and export a fresh request.",
            )
        out.print(f"wave {params.name} already exists with these targets; nothing to post")
    else:
        now = get_production_targets(client, params.tag).get(params.tag)
        before = request.payload.get("production_targets")
        if (now is None) != (before is None) or (
            now is not None and Envelope.from_dict(now).signed_bytes() != Envelope.from_dict(before).signed_bytes()
        ):
            raise RemoteError(
                f"the production targets of tag {params.tag} changed since this wave was signed",
                hint="The signed wave would undo that change; export a fresh waves init request and sign again.",
            )
        create_wave(client, params.name, params.version, params.tag, signed.to_dict())
        out.print(f"created wave {params.name}: version {params.version}, tag {params.tag}")
    station.save_progress(request.request_id, {"done": True})


def import_sign_wave(
    station: Station,
    request: Request,
    result: dict[str, Any],
    server: str | None,
    token: str | None,
    token_file: Path | None,
) -> None:
    from .targets_api import sign_wave

    wave = request.payload["wave"]
    envelope = Envelope.from_dict(wave["targets"], what="wave targets")
    signatures = _signatures(result, wave["name"])
    _checked(request, envelope, signatures)
    client = make_client(server, token, token_file, request.factory)
    current = Envelope.from_dict(get_wave(client, wave["name"]).get("targets"), what="server wave targets")
    if current.signed_bytes() != envelope.signed_bytes():
        raise RemoteError(f"wave {wave['name']} changed on the server since export", hint="Export a fresh request.")
    have = {(s.keyid, s.sig) for s in current.signatures}
    if all((s.keyid, s.sig) in have for s in signatures):
        console().print(f"wave {wave['name']} already carries these signatures; nothing to do")
    else:
        sign_wave(client, wave["name"], [s.to_dict() for s in signatures])
        console().print(f"signed wave {wave['name']}")
    station.save_progress(request.request_id, {"done": True})
