"""The station's side of root updates transactions: the txid, review, apply, export and import.

The txid is a secret shared only with the officers taking part: it is kept in
``<home>/transactions/<factory>.json`` (0600), printed once by ``updates init`` and entered by
the other officers with ``updates join``.  It never goes into a bundle: the appliance does
not need it.  ``apply`` is sent only when both roots meet both thresholds (old and new root
keys, distinct public keys), so a refused apply never reaches the server.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from appliance.common.durable import read_capped, write_durable
from appliance.common.plaintext import plain_console
from appliance.core.context import ResponseContext
from appliance.core.errors import BundleError, RemoteError, UsageError, VerificationError
from appliance.core.keys import SignatureEntry
from appliance.core.metadata import Envelope, Root, build_root
from appliance.core.operation import Operation
from appliance.core.operations import KINDS, AnyRequest
from appliance.core.rootpair import RootPair, same_metadata
from appliance.core.strictjson import dumps_compact, dumps_pretty, loads_object
from appliance.core.txbundle import StagedChange, StagedRoots
from appliance.core.txplan import UpdateParameters
from appliance.core.txreview import count_lines, root_changes, visible
from appliance.core.txroots import Staged, check_staged
from appliance.core.txsign import count_signatures, signer_names
from appliance.core.txwire import UpdatesView, check_txid, parse_signature_map
from appliance.core.updatesops import StagedChangeRequest, StagedResult

from .api import FactoryClient
from .exporting import RequestBuilder
from .station import Station
from .updates_api import apply_updates, get_updates

NO_TX_HINT = "Start one with 'tuf-online updates init -m MESSAGE', or join one with 'tuf-online updates join --txid'."


class TxidStore:
    def __init__(self, station: Station) -> None:
        self.station = station

    def _path(self, factory: str) -> Path:
        return self.station.home.subdir("transactions") / f"{factory}.json"

    def save(self, factory: str, txid: str) -> None:
        data = dumps_pretty({"factory": factory, "txid": check_txid(txid)})
        write_durable(self._path(factory), data, replace=True, mode=0o600, label="txid")

    def get(self, factory: str) -> str:
        path = self._path(factory)
        if not path.exists():
            raise UsageError(f"this station takes part in no root updates transaction of {factory}", hint=NO_TX_HINT)
        txid = loads_object(read_capped(path, 4096, what="txid file")).get("txid")
        return check_txid(txid)

    def forget(self, factory: str) -> None:
        self._path(factory).unlink(missing_ok=True)


def staged_of(view: UpdatesView, *, need_started: bool = True) -> Staged:
    if need_started and view.status != "STARTED":
        raise RemoteError(
            f"the factory's root updates are {view.status}, not STARTED",
            hint="There are no TUF root updates in progress." if view.status == "NONE" else "Wait, then review.",
        )
    assert view.current.ci is not None and view.updated.ci is not None
    current_prod = view.current.prod or view.current.ci  # first rotation: production equals CI
    return Staged(RootPair(view.current.ci, current_prod), view.updated.ci, view.updated.prod, view.updated.online_keys)


def review(view: UpdatesView, now: datetime) -> list[str]:
    """The station's review: what fioctl's review shows, plus the device-side counts."""
    lines = [f"status: {view.status}"]
    if view.status == "NONE":
        return lines
    staged = staged_of(view, need_started=False)
    for key, value in sorted(view.change_meta.items()):
        lines.append(f"{visible(str(key))}: {visible(str(value))}")
    prod = staged.prod_or_generated()
    for label, old, new in (("CI", staged.current.ci, staged.ci), ("production", staged.current.prod, prod)):
        lines.append(f"staged {label} root v{new.version} against the current v{old.version}:")
        lines.extend(f"  {line}" for line in root_changes(old.meta, new.meta))
    names = signer_names(staged.ci, staged.current.ci)
    who = [f"{k[:16]} ({visible(o) or 'owner unknown'})" for k, o in names]
    lines.append("signed so far: " + (", ".join(who) or "(nobody)"))
    lines.extend(count_lines(count_signatures(staged, now), "signatures:"))
    for kind, items in (("amendment", view.amendments), ("error", view.errors), ("warning", view.warnings)):
        for item in items:
            text = item.get("message", item) if isinstance(item, dict) else item
            lines.append(f"server {kind}: {visible(str(text))}")
    return lines


def apply_checked(client: FactoryClient, txid: str, now: datetime) -> Staged:
    """Apply only when devices would accept both staged roots."""
    staged = staged_of(get_updates(client))
    check_staged(staged)
    count = count_signatures(staged, now)
    if not count.met:
        raise VerificationError(
            "not applied: " + "; ".join(count.problems()),
            hint="More officers must sign (tuf-online updates export sign); nothing was sent to the server.",
        )
    apply_updates(client, txid)
    return staged


# --- export and import of appliance requests ------------------------------------------------


def staged_request(
    operation: str,
    parameters: Mapping[str, Any],
    *,
    owner: bool = False,
    tags: list[str] | None = None,
    waves: list[str] | None = None,
) -> RequestBuilder:
    """What ``export_request`` puts in a root updates request: the staged roots as the server holds
    them now, the token's user (for a new key's ``x-key-owners`` entry), and targets to sign."""
    params = UpdateParameters.from_dict(operation, parameters)  # refused here, before anything is fetched
    kind = KINDS[Operation(operation)].request
    assert issubclass(kind, StagedChangeRequest)

    def build(client: FactoryClient) -> AnyRequest:
        from .targets_api import get_production_targets, get_wave

        staged = staged_of(get_updates(client))
        polis_id, name = client.get_current_user() if owner else ("", "")
        found = None
        if tags is not None:
            raw = get_production_targets(client, *tags)
            found = {t: Envelope.from_dict(env, what=f"production targets {t}") for t, env in raw.items()}
        wave_docs = {
            w: Envelope.from_dict(get_wave(client, w).get("targets"), what=f"wave {w} targets") for w in waves or []
        }
        roots = StagedRoots(staged.ci, staged.prod, dict(staged.online_keys))
        return kind(StagedChange(params, roots, polis_id, name, found, wave_docs))

    return build


def write_first_root(path: Path, answer: Mapping[str, Any]) -> None:
    """fioctl's --first-time tarball: tufrepo/keys/first-root.pub and .sec from the init answer."""
    from appliance.core.firstroot import FIRST_ROOT
    from appliance.core.keysarchive import KeysArchive

    sec, pub = answer.get("first_root.sec"), answer.get("first_root.pub")
    if not isinstance(sec, dict) or not isinstance(pub, dict):
        raise RemoteError("the server's --first-time answer lacks first_root.sec or first_root.pub")
    archive = KeysArchive.from_files({f"{FIRST_ROOT}.pub": dumps_compact(pub), f"{FIRST_ROOT}.sec": dumps_compact(sec)})
    if len([e for e in archive.entries if e.private]) != 1:
        raise RemoteError("the server's first root key pair is not a matching key pair")

    def check(raw: bytes) -> None:
        if len([e for e in KeysArchive.from_bytes(raw).entries if e.private]) != 1:
            raise RemoteError("re-read first root tarball does not hold the key")

    write_durable(path, archive.to_bytes(mtime=0), replace=False, verify=check, mode=0o600, label="keys")


def _merged(root: Root, server: Root) -> Root:
    """``root``'s signatures plus the server's by other key ids (officers signing the same body)."""
    ids = {s.keyid for s in root.signatures}
    extra = [s for s in server.signatures if s.keyid not in ids]
    return build_root(root.meta, [*root.signatures, *extra], root.envelope.extra)


def _contains(server: Root | None, root: Root) -> bool:
    if server is None or server.signed_bytes() != root.signed_bytes():
        return False
    have = {(s.keyid, s.sig) for s in server.signatures}
    return all((s.keyid, s.sig) in have for s in root.signatures)


def import_update(station: Station, bound: ResponseContext, result: StagedResult, client: FactoryClient) -> None:
    """PUT an appliance's staged change or signatures, unless the transaction moved on."""
    from .updates_api import put_updates

    out = plain_console()
    request = bound.request
    txid = TxidStore(station).get(request.factory)
    staged = staged_of(get_updates(client))
    ci, prod = result.roots.ci_root, result.roots.prod_root
    sent = KINDS[Operation(request.operation)].request.from_wire(request.parameters, request.payload)
    assert isinstance(sent, StagedChangeRequest)
    before_ci = sent.change.staged.ci
    if result.extras.staged_ci_sha256 != hashlib.sha256(before_ci.signed_bytes()).hexdigest():
        raise BundleError("the response was made from other staged roots than this request carried")
    targets_sigs, waves_sigs = result.extras.targets_signatures, result.extras.waves_signatures
    if _contains(staged.ci, ci) and _contains(staged.prod, prod) and not (targets_sigs or waves_sigs):
        out.print(f"the transaction already holds this {request.operation} result; nothing to do")
        station.save_progress(request.request_id, station.progress(request.request_id).finished())
        return
    server_ci = staged.ci
    if ci.signed_bytes() == server_ci.signed_bytes():
        ci = _merged(ci, server_ci)
        if staged.prod is not None and staged.prod.signed_bytes() == prod.signed_bytes():
            prod = _merged(prod, staged.prod)
    elif server_ci.signed_bytes() != before_ci.signed_bytes():
        raise RemoteError(
            "the staged roots changed on the server since this request was exported",
            hint="Another officer staged a change; export a fresh request and take it to the appliance again.",
        )
    after = Staged(staged.current, ci, prod, staged.online_keys)
    check_staged(after)
    count = count_signatures(after, datetime.now(UTC))  # raises on signatures devices would reject outright
    put_updates(client, txid, ci, prod, targets_sigs, waves_sigs)
    station.save_progress(request.request_id, station.progress(request.request_id).finished())
    out.print(f"staged {request.operation} result for factory {request.factory}")
    for line in count_lines(count, "signatures now:"):
        out.print(line)


def _server_has(client: FactoryClient, old: RootPair, new: RootPair) -> bool:
    """True when the server already serves ``new``; False when it serves ``old``; else the factory moved."""
    states = []
    for production, before, after in ((False, old.ci, new.ci), (True, old.prod, new.prod)):
        label = "production" if production else "CI"
        served = Root.from_bytes(client.get_root(production=production), what=f"server {label} root")
        if served.version == after.version:
            if not same_metadata(served, after):
                raise RemoteError(
                    f"server already has a different {label} root v{after.version}",
                    hint="Someone else rotated this factory; export a fresh request.",
                )
            states.append(True)
        elif served.version != before.version or not same_metadata(served, before):
            raise RemoteError(
                f"server {label} root is v{served.version}, not the v{before.version} this request was made from",
                hint="The factory changed since export; export a fresh request.",
            )
        else:
            states.append(False)
    if any(states) and not all(states):
        raise RemoteError("the server has only one of the new roots", hint="Finish with: tuf-online import --direct.")
    return all(states)


def upload_via_transaction(client: FactoryClient, old: RootPair, new: RootPair, operation: str) -> None:
    """Upload a rotation made offline through a shortcut transaction: init, PUT, apply (fioctl's way)."""
    from .updates_api import cancel_updates, init_updates, put_updates

    if _server_has(client, old, new):
        return
    view = get_updates(client)
    if view.status != "NONE":
        raise RemoteError(
            f"a root updates transaction is already {view.status} on the server",
            hint="Finish or cancel it (tuf-online updates review / cancel), or import with --direct.",
        )
    changelog = new.ci.meta.extra.get("x-changelog")
    message = changelog.get("message") if isinstance(changelog, Mapping) else None
    txid = init_updates(client, str(message or operation), first_time=False, shortcut=True).get("txid", "")
    raw = new.ci.envelope.extra.get("targets-signatures")
    targets: dict[str, Sequence[SignatureEntry]] = dict(parse_signature_map(raw, "targets-signatures"))
    try:
        put_updates(client, check_txid(txid), new.ci, new.prod, targets)
        apply_updates(client, txid)
    except RemoteError:
        cancel_updates(client)  # leave no half-staged transaction behind; the import can be re-run
        raise
    plain_console().print(f"applied CI and production root v{new.ci.version} through a root updates transaction")
