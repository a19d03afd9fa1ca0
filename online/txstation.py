"""The station's side of root updates transactions: the txid, review, apply, export and import.

The txid is a secret shared only with the officers taking part: it is kept in
``<home>/transactions/<factory>.json`` (0600), printed once by ``updates init`` and entered by
the other officers with ``updates join``.  It never goes into a bundle: the appliance does
not need it.  ``apply`` is sent only when both roots meet both thresholds (old and new root
keys, distinct public keys), so a refused apply never reaches the server.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from appliance.common.durable import read_capped, write_durable
from appliance.common.render import console
from appliance.core.bundle import Request
from appliance.core.errors import BundleError, RemoteError, UsageError, VerificationError
from appliance.core.keys import SignatureEntry
from appliance.core.metadata import Root, build_root
from appliance.core.rootpair import RootPair
from appliance.core.strictjson import dumps_pretty, loads_object
from appliance.core.txreview import count_lines, root_changes, visible
from appliance.core.txroots import Staged, check_staged
from appliance.core.txsign import count_signatures, signer_names
from appliance.core.txwire import UpdatesView, check_txid, parse_signature_map

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


def apply_checked(client: Any, txid: str, now: datetime) -> Staged:
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


def staged_payload(staged: Staged) -> dict[str, Any]:
    return {
        "ci_root": staged.ci.to_dict(),
        "prod_root": staged.prod.to_dict() if staged.prod is not None else None,
        "online_keys": dict(staged.online_keys),
    }


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


def import_update(station: Station, request: Request, result: dict[str, Any], client: Any) -> None:
    """PUT an appliance's staged change or signatures, unless the transaction moved on."""
    from .updates_api import put_updates

    out = console()
    txid = TxidStore(station).get(request.factory)
    staged = staged_of(get_updates(client))
    ci = Root.from_dict(result.get("ci_root"), what="staged CI root in the response")
    prod = Root.from_dict(result.get("prod_root"), what="staged production root in the response")
    before = request.payload.get("staged", {})
    before_ci = Root.from_dict(before.get("ci_root") if isinstance(before, dict) else None, what="exported staged root")
    if result.get("staged_ci_sha256") != hashlib.sha256(before_ci.signed_bytes()).hexdigest():
        raise BundleError("the response was made from other staged roots than this request carried")
    targets_sigs = parse_signature_map(result.get("targets_signatures"), "targets_signatures")
    waves_sigs = parse_signature_map(result.get("waves_signatures"), "waves_signatures")
    if _contains(staged.ci, ci) and _contains(staged.prod, prod) and not (targets_sigs or waves_sigs):
        out.print(f"the transaction already holds this {request.operation} result; nothing to do")
        station.save_progress(request.request_id, {"done": True})
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
    station.save_progress(request.request_id, {"done": True})
    out.print(f"staged {request.operation} result for factory {request.factory}")
    for line in count_lines(count, "signatures now:"):
        out.print(line, markup=False, highlight=False)


def upload_via_transaction(client: Any, new: RootPair, message: str) -> None:
    """Upload a rotation made offline through a shortcut transaction: init, PUT, apply."""
    from .updates_api import cancel_updates, init_updates, put_updates

    view = get_updates(client)
    if view.status != "NONE":
        raise RemoteError(
            f"a root updates transaction is already {view.status} on the server",
            hint="Finish or cancel it (tuf-online updates review / cancel), or import with --direct.",
        )
    txid = init_updates(client, message, first_time=False, shortcut=True).get("txid", "")
    raw = new.ci.envelope.extra.get("targets-signatures")
    targets: dict[str, Sequence[SignatureEntry]] = dict(parse_signature_map(raw, "targets-signatures"))
    try:
        put_updates(client, check_txid(txid), new.ci, new.prod, targets)
        apply_updates(client, txid)
    except RemoteError:
        cancel_updates(client)  # leave no half-staged transaction behind; the import can be re-run
        raise
