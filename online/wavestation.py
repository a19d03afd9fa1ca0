"""Waves on the station: build the requests for ``waves init`` and ``waves sign``, and post what
the appliance signed.

Export fetches what fioctl's ``waves init`` fetches (CI targets of the version, the
tag's production targets, the online targets key, plus the root histories every
request carries), builds the wave's production targets with the same core rules the
appliance re-applies, and exports them unsigned.  Import checks the appliance's
signatures against the production root, refuses if the tag's production targets
moved since export, and posts ``{name, version, tag, targets: {signed, signatures}}``
as fioctl does; re-running after a crash finds the wave already there.
"""

from __future__ import annotations

from collections.abc import Callable

from appliance.common.plaintext import plain_console
from appliance.core.context import ResponseContext
from appliance.core.errors import BundleError, HTTPStatusError, RemoteError, VerificationError
from appliance.core.keys import SignatureEntry
from appliance.core.metadata import Envelope, Root
from appliance.core.state import ImportProgress
from appliance.core.targets import add_signatures
from appliance.core.targetsops import InitWaveRequest, SignTargetsRequest, Wave, WaveSignatures
from appliance.core.verify import check_role
from appliance.core.waves import WaveParameters, build_wave_targets

from .api import FactoryClient
from .exporting import online_key
from .station import Station
from .targets_api import create_wave, get_ci_targets, get_production_targets, get_wave, sign_wave


def _tag_targets(client: FactoryClient, tag: str) -> Envelope | None:
    raw = get_production_targets(client, tag).get(tag)
    return None if raw is None else Envelope.from_dict(raw, what=f"production targets of tag {tag}", parsed=True)


def init_wave_request(client: FactoryClient, params: WaveParameters) -> InitWaveRequest:
    """The ``init-wave`` request: the wave built by fioctl's rules, unsigned, and what it was built from."""
    ci_targets = get_ci_targets(client, params.version)
    current = _tag_targets(client, params.tag)
    built = build_wave_targets(params, ci_targets, current)
    if built.lacks_delta_stats:
        plain_console().print(
            "warning: this Target version has no static deltas; fioctl recommends `fioctl targets static-deltas` "
            "before creating a production wave"
        )
    wave = Wave(params.name, Envelope(built.signed, ()), {"version": params.version, "tag": params.tag})
    return InitWaveRequest(params, online_key(client), ci_targets, current, wave)


def sign_targets_request(client: FactoryClient, wave: str) -> SignTargetsRequest:
    """The ``sign-targets`` request (fioctl ``waves sign``): the wave as the server holds it."""
    data = get_wave(client, wave)
    if not isinstance(data.get("targets"), dict):
        raise RemoteError(f"wave {wave} has no targets", hint="Create the wave first (waves init).")
    picked = {k: data[k] for k in Wave.WIRE_FIELDS if k in data}
    tag = data.get("tag")
    current = _tag_targets(client, tag) if isinstance(tag, str) and tag else None
    return SignTargetsRequest(Wave.from_wire(picked), online_key(client), current)


def _checked(prod: Root, envelope: Envelope, result: WaveSignatures, wave: str) -> Envelope:
    """Each signature must be a valid one by a targets key of the production root."""
    if result.wave != wave:
        raise BundleError("response signs a different wave than the request")
    role = prod.meta.roles["targets"]
    for sig in result.signatures:
        one = Envelope(envelope.signed, (sig,), {}, envelope.canonical_signed)
        if sig.keyid not in role.keyids or not check_role(one, prod, "targets").count:
            raise VerificationError(f"the response's signature by {sig.keyid[:16]} does not verify")
    return add_signatures(envelope, result.signatures)


def _same(a: Envelope | None, b: Envelope | None) -> bool:
    return (a is None) == (b is None) and (a is None or b is None or a.signed_bytes() == b.signed_bytes())


def import_wave(
    station: Station,
    bound: ResponseContext,
    result: WaveSignatures,
    client: Callable[[], FactoryClient],
    progress: ImportProgress,
) -> None:
    """Post what the appliance signed: a new wave (init-wave) or more signatures (sign-targets)."""
    body = InitWaveRequest.from_wire(bound.request.parameters, bound.request.payload)
    params = body.params
    signed = _checked(bound.histories.latest.prod, body.wave.targets, result, params.name)
    api = client()
    out = plain_console()
    try:
        existing = get_wave(api, params.name)
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
        if not _same(_tag_targets(api, params.tag), body.production_targets):
            raise RemoteError(
                f"the production targets of tag {params.tag} changed since this wave was signed",
                hint="The signed wave would undo that change; export a fresh waves init request and sign again.",
            )
        create_wave(api, params.name, params.version, params.tag, signed.to_dict())
        out.print(f"created wave {params.name}: version {params.version}, tag {params.tag}")
    station.save_progress(bound.request.request_id, progress.finished())


def import_wave_signatures(
    station: Station,
    bound: ResponseContext,
    result: WaveSignatures,
    client: Callable[[], FactoryClient],
    progress: ImportProgress,
) -> None:
    """Check the offline signatures against the production root, then post them to the wave."""
    wave = SignTargetsRequest.from_wire(bound.request.parameters, bound.request.payload).wave
    prod = bound.histories.latest.prod
    envelope = wave.targets
    _checked(prod, envelope, result, wave.name)
    api = client()
    current = Envelope.from_dict(get_wave(api, wave.name).get("targets"), what="server wave targets")
    if current.signed_bytes() != envelope.signed_bytes():
        raise RemoteError(f"wave {wave.name} changed on the server since export", hint="Export a fresh request.")
    have = {(s.keyid, s.sig) for s in current.signatures}
    signatures: tuple[SignatureEntry, ...] = result.signatures
    if all((s.keyid, s.sig) in have for s in signatures):
        plain_console().print(f"wave {wave.name} already carries these signatures; nothing to do")
    else:
        sign_wave(api, wave.name, [s.to_dict() for s in signatures])
        outcome = check_role(add_signatures(current, signatures), prod, "targets").describe()
        plain_console().print(f"signed wave {wave.name}: {outcome}")
    station.save_progress(bound.request.request_id, progress.finished())
