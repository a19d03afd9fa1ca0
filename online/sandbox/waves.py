"""Sandbox waves as the real server takes them: pure rules (storage is in wavestore.py).

``POST /ota/factories/<f>/waves/`` carries ``{name, version, tag, targets: {signed,
signatures}}``: the production targets built and signed offline (fioctl
subcommands/waves/init.go).  The server builds nothing: it checks the document and
each signature against the current production root and adds one signature of its
own, by the online targets key, over the same canonical ``signed`` bytes.  That is
what makes fioctl's single offline signature meet the default production targets
threshold of 2; ``waves sign`` is "only needed when your TUF root requires more than
1 signature" (fioctl subcommands/waves/sign.go, added in e024fe5 a week after
``set-threshold`` allowed thresholds above 2).  Rollout and complete require the
production root's targets threshold to be met, as a device would.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from appliance.core.errors import AirgapError, InputFormatError, MetadataError, Refusal, VerificationError
from appliance.core.keys import PrivateKey, SignatureEntry
from appliance.core.metadata import TARGETS_TYPE, Envelope, RoleKeys, Root
from appliance.core.strictjson import loads_object
from appliance.core.targets import add_signatures, check_production_targets
from appliance.core.timefmt import parse_expires
from appliance.core.verify import check_threshold
from appliance.core.waves import TAG_NAME, WAVE_NAME, parse_version, target_rows

MAX_WAVE_BYTES = 8 * 1024 * 1024
MAX_UUIDS = 10_000  # fioctl waves rollout: at most 10000 uuids, each at most 60 characters
MAX_UUID_CHARS = 60


def _bad(message: str) -> Refusal:
    return Refusal(400, "bad-request", message)


def _body(body: bytes, what: str) -> dict[str, Any]:
    try:
        return loads_object(body, max_bytes=MAX_WAVE_BYTES, what=what)
    except InputFormatError as exc:
        raise _bad(exc.message) from exc


def check_names(name: object, version: object, tag: object) -> tuple[str, int, str]:
    if not (isinstance(name, str) and WAVE_NAME.fullmatch(name)):
        raise _bad("wave name must be 1-64 letters, digits, '.', '_' or '-'")
    if not (isinstance(tag, str) and TAG_NAME.fullmatch(tag)):
        raise _bad("wave tag must be 1-64 letters, digits, '.', '_' or '-'")
    try:
        number = parse_version(version)
    except AirgapError as exc:
        raise _bad("wave version must be a string holding a positive integer") from exc
    return name, number, tag


def ci_targets_of_version(ci_targets: Envelope, version: str | None) -> dict[str, Any]:
    """``GET /ota/factories/<f>/targets/?version=N``: the CI targets whose custom.version is N."""
    targets = ci_targets.signed.get("targets")
    if not isinstance(targets, Mapping):
        return {}
    out = {}
    for name, meta in targets.items():
        custom = meta.get("custom") if isinstance(meta, Mapping) else None
        if version is None or (isinstance(custom, Mapping) and custom.get("version") == version):
            out[name] = meta
    return out


def _signatures(raw: object) -> list[SignatureEntry]:
    if not isinstance(raw, list) or not raw:
        raise _bad("signatures must be a list with at least one signature")
    try:
        return [SignatureEntry.from_dict(s) for s in raw]
    except InputFormatError as exc:
        raise _bad(exc.message) from exc


def check_offline_signatures(signatures: list[SignatureEntry], envelope: Envelope, prod_root: Root) -> None:
    """Every signature must be a valid one by a key of the production root's targets role."""
    role = prod_root.meta.roles["targets"]
    payload = envelope.signed_bytes()
    for sig in signatures:
        try:
            result = check_threshold(payload, [sig], prod_root.meta.keys, RoleKeys((sig.keyid,), 1), "targets")
        except VerificationError as exc:
            raise Refusal(422, "verification-failed", exc.message) from exc
        if sig.keyid not in role.keyids or not result.met:
            raise Refusal(
                422,
                "verification-failed",
                f"signature by {sig.keyid[:16]} is not a valid signature by a production targets key",
            )


def checked_signatures(body: bytes, envelope: Envelope, prod_root: Root) -> list[SignatureEntry]:
    """``POST …/sign/`` body ``{"signatures": [...]}``, every signature checked."""
    obj = _body(body, "signatures")
    if set(obj) != {"signatures"}:
        raise _bad('body must be {"signatures": [ ... ]}')
    signatures = _signatures(obj["signatures"])
    check_offline_signatures(signatures, envelope, prod_root)
    return signatures


def accept_wave(
    body: bytes,
    *,
    prod_root: Root,
    production_targets: Callable[[str], Envelope | None],
    ci_targets: Envelope,
    online: PrivateKey,
    now: datetime,
) -> tuple[str, str, str, Envelope]:
    """Check a wave creation body; return (name, version, tag, targets with the online signature added)."""
    obj = _body(body, "wave")
    name, version, tag = check_names(obj.get("name"), obj.get("version"), obj.get("tag"))
    raw = obj.get("targets")
    if not isinstance(raw, Mapping):
        raise _bad("wave targets must be an object {signed, signatures}")
    try:
        envelope = Envelope.from_dict(raw, what="wave targets")
        target_rows(_targets(envelope))
        expires = parse_expires(envelope.signed.get("expires"))
    except InputFormatError as exc:
        raise _bad(exc.message) from exc
    if envelope.type != TARGETS_TYPE:
        raise _bad(f"wave targets _type is {envelope.type!r}, expected Targets")
    if envelope.signed.get("version") != version:
        raise _bad(f"wave targets version {envelope.signed.get('version')!r} is not the wave version {version}")
    if expires <= now:
        raise Refusal(422, "expired", f"wave targets expired at {envelope.signed.get('expires')}")
    current = production_targets(tag)
    if not ci_targets_of_version(ci_targets, str(obj["version"])):
        raise Refusal(422, "unknown-version", f"there are no CI targets of version {version}")
    if current is not None and version <= current.version:
        raise Refusal(
            409,
            "version-conflict",
            f"wave version {version} is not above production version {current.version} for tag {tag}",
        )
    offline = list(envelope.signatures)
    if not offline:
        raise _bad("wave targets carry no signature; sign them with an offline targets key first")
    check_offline_signatures(offline, envelope, prod_root)
    if online.keyid in prod_root.meta.roles["targets"].keyids:
        envelope = Envelope(envelope.signed, (), envelope.extra, envelope.canonical_signed)
        envelope = add_signatures(envelope, [online.sign(envelope.signed_bytes()), *offline])
    return name, str(obj["version"]), tag, envelope


def _targets(envelope: Envelope) -> Mapping[str, Any]:
    targets = envelope.signed.get("targets")
    if not isinstance(targets, Mapping):
        raise MetadataError("wave targets have no targets object")
    return targets


def rollout_options(body: bytes) -> dict[str, Any]:
    """fioctl ``WaveRolloutOptions``: group, limit, percentage, uuids, dry-run, return-uuids, return-names."""
    obj = _body(body, "rollout options")
    known = {"group", "limit", "percentage", "uuids", "dry-run", "return-uuids", "return-names"}
    if set(obj) - known:
        raise _bad(f"unknown rollout options {sorted(set(obj) - known)}")
    group = obj.get("group", "")
    uuids = obj.get("uuids", [])
    numbers = [obj.get(k, 0) for k in ("limit", "percentage")]
    if not isinstance(group, str) or not all(isinstance(n, int) and not isinstance(n, bool) for n in numbers):
        raise _bad("group must be a string, limit and percentage integers")
    if not isinstance(uuids, list) or len(uuids) > MAX_UUIDS:
        raise _bad(f"uuids must be a list of at most {MAX_UUIDS} device uuids")
    if not all(isinstance(u, str) and 0 < len(u) <= MAX_UUID_CHARS for u in uuids):
        raise _bad(f"each uuid must be a string of 1-{MAX_UUID_CHARS} characters")
    if not (group or uuids or any(numbers)):
        raise _bad("One of the following must be set: group, limit, percentage, uuids")
    if not 0 <= numbers[1] <= 100 or numbers[0] < 0:
        raise _bad("limit must not be negative and percentage must be 0..100")
    return obj


def publishable(envelope: Envelope, prod_root: Root) -> None:
    try:
        check_production_targets(envelope, prod_root)
    except VerificationError as exc:
        raise Refusal(422, "threshold-not-met", exc.message) from exc


def resigned(current: Envelope, signatures: list[SignatureEntry], prod_root: Root) -> Envelope:
    """Production targets re-signed for a new production root (online signatures kept)."""
    new_ids = {s.keyid for s in signatures}
    kept = [
        s for s in current.signatures if s.keyid not in new_ids and s.keyid in prod_root.meta.roles["targets"].keyids
    ]
    envelope = Envelope(current.signed, (*kept, *signatures), current.extra, current.canonical_signed)
    publishable(envelope, prod_root)
    return envelope
