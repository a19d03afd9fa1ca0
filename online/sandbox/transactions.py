"""The sandbox's root updates transactions: fioctl's ``keys tuf updates`` API (bundle-spec.md §11.6).

One transaction per factory at a time, kept in ``<factory>/updates.json``:
``init`` stages CI and production root version + 1 (unsigned, with the init message as
``x-changelog``), ``PUT`` replaces the staged roots (and collects re-signed production
and wave targets), ``gen-online-keys`` stages new online keys, ``apply`` publishes the
staged roots only when devices would accept them (old and new root thresholds, counted
over distinct public keys), ``cancel`` drops everything.  The txid is checked on every
call that carries one; the user who started the transaction may send an empty txid.

Status codes the sandbox chooses where the real server's are not known (bundle-spec.md §11.6):
409 ``transaction-active`` (fioctl names this case on 409), 404 ``no-transaction``,
403 ``txid-mismatch``, 400 ``bad-request``/``bad-metadata``, 409 ``version-conflict``/``prod-mismatch``,
422 ``online-keys-changed``/``verification-failed``/``threshold-not-met``.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from appliance.core.errors import InputFormatError, MetadataError, Refusal, VerificationError
from appliance.core.keys import ED25519, RSA, PrivateKey, RandomBytes, SignatureEntry, generate_key, secret_key_file
from appliance.core.metadata import Envelope, Root, build_root
from appliance.core.rootpair import pair_differences
from appliance.core.strictjson import JsonObject, loads_object
from appliance.core.targets import add_signatures
from appliance.core.timefmt import format_expires
from appliance.core.txroots import without_unused
from appliance.core.txwire import check_txid, parse_signature_map, roots_object
from appliance.core.verify import check_root_update

from .factory import ONLINE_ROLES
from .rules import MAX_UPLOAD_BYTES
from .state import SandboxState, User
from .waves import publishable, resigned
from .wavestore import WaveStore

TXID_BYTES = 16


def _body(data: bytes, what: str) -> JsonObject:
    try:
        return loads_object(data, max_bytes=MAX_UPLOAD_BYTES, what=what)
    except InputFormatError as exc:
        raise Refusal(400, "bad-request", exc.message) from None


def _root(value: object, what: str) -> Root:
    try:
        return Root.from_dict(value, what=what)
    except InputFormatError as exc:
        raise Refusal(400, "bad-metadata", exc.message) from None


def _signature_map(value: object, what: str) -> dict[str, list[SignatureEntry]]:
    try:
        return parse_signature_map(value, what)
    except InputFormatError as exc:
        raise Refusal(400, "bad-request", exc.message) from None


def _merge(stored: object, new: Mapping[str, list[SignatureEntry]]) -> dict[str, Any]:
    """Signatures per document: a new signature replaces the same key id's, others stay."""
    out: dict[str, Any] = dict(stored) if isinstance(stored, Mapping) else {}
    for name, sigs in new.items():
        ids = {s.keyid for s in sigs}
        kept = [s for s in out.get(name, []) if isinstance(s, Mapping) and s.get("keyid") not in ids]
        out[name] = [*(s.to_dict() for s in sigs), *kept]
    return out


class Transactions:
    """The transaction endpoints of one factory; the caller holds the server lock."""

    def __init__(
        self,
        state: SandboxState,
        factory: str,
        now: datetime,
        random_bytes: RandomBytes = os.urandom,
    ) -> None:
        self.state = state
        self.factory = factory
        self.now = now
        self.random_bytes = random_bytes

    # --- helpers ------------------------------------------------------------------

    def _current(self) -> tuple[Root, Root]:
        ci, prod = self.state.root(self.factory, False), self.state.root(self.factory, True)
        assert ci is not None and prod is not None
        return ci, prod

    def _online_ids(self) -> dict[str, str]:
        return {role: self.state.online_key(self.factory, role).keyid for role in ONLINE_ROLES}

    def _active(self) -> JsonObject:
        tx = self.state.transaction(self.factory)
        if tx is None:
            raise Refusal(404, "no-transaction", "There are no TUF root updates in progress")
        return tx

    def _check_txid(self, tx: Mapping[str, Any], user: User, body: Mapping[str, Any]) -> None:
        if "txid" not in body:
            raise Refusal(400, "bad-request", "the body has no txid")
        try:
            given = check_txid(body["txid"])
        except MetadataError as exc:
            raise Refusal(400, "bad-request", exc.message) from None
        if given == "" and user.polis_id == tx["created-by"]:
            return
        if not hmac.compare_digest(given.encode(), str(tx["txid"]).encode()):
            raise Refusal(
                403,
                "txid-mismatch",
                "the txid does not match the TUF root updates transaction in progress",
                ["only the user who started the transaction may omit the txid"] if given == "" else [],
            )

    def _touch(self, tx: JsonObject, user: User) -> None:
        tx["updated-by"] = user.polis_id
        tx["updated-at"] = format_expires(self.now)

    # --- endpoints ----------------------------------------------------------------

    def init(self, user: User, data: bytes) -> JsonObject:
        body = _body(data, "root updates init")
        message, first_time = body.get("message", ""), body.get("first-time", False)
        if not isinstance(message, str) or not isinstance(first_time, bool):
            raise Refusal(400, "bad-request", "message must be a string and first-time a boolean")
        if self.state.transaction(self.factory) is not None:
            raise Refusal(409, "transaction-active", "Only one TUF root updates transaction can be active at a time")
        ci, prod = self._current()
        answer: JsonObject = {}
        if first_time:
            first = self.state.first_root_key(self.factory)
            if first is None or first.keyid not in ci.meta.roles["root"].keyids:
                raise Refusal(
                    400, "not-first-time", "the first root key was already rotated out; --first-time is not possible"
                )
            answer["first_root.sec"] = loads_object(secret_key_file(first))
            answer["first_root.pub"] = ci.meta.keys[first.keyid].to_dict()
        changelog = {"polis-id": user.polis_id, "message": message, "timestamp": format_expires(self.now)}
        staged = []
        for root in (ci, prod):
            meta = root.meta
            extra = {**meta.extra, "x-changelog": changelog}
            staged.append(build_root(replace(meta, version=meta.version + 1, extra=extra), ()).to_dict())
        txid = self.random_bytes(TXID_BYTES).hex()
        stamp = format_expires(self.now)
        tx: JsonObject = {
            "txid": txid,
            "status": "STARTED",
            "first-time": first_time,
            "message": message,
            "created-by": user.polis_id,
            "created-at": stamp,
            "updated-by": user.polis_id,
            "updated-at": stamp,
            "ci-root": staged[0],
            "prod-root": staged[1],
            "online-keys": self._online_ids(),
        }
        self.state.save_transaction(self.factory, tx)
        return {"txid": txid, **answer}

    def get(self) -> JsonObject:
        ci, prod = self._current()
        current = roots_object(ci, prod, self._online_ids())
        tx = self.state.transaction(self.factory)
        if tx is None:
            return {"status": "NONE", "current": current, "updated": roots_object(None, None, {})}
        staged_ci = _root(tx["ci-root"], "staged CI root")
        staged_prod = _root(tx["prod-root"], "staged production root") if tx.get("prod-root") else None
        errors = []
        for label, cur, new in (("CI", ci, staged_ci), ("production", prod, staged_prod)):
            if new is None:
                continue
            try:
                result = check_root_update(cur, new, self.now)
            except VerificationError as exc:
                errors.append({"kind": "signatures", "message": f"{label} root: {exc.message}", "args": {}})
                continue
            errors.extend(
                {"kind": "signatures", "message": f"{label} root: {p}", "args": {}} for p in result.problems()
            )
        return {
            "status": tx["status"],
            "current": current,
            "updated": roots_object(staged_ci, staged_prod, tx["online-keys"]),
            "change-meta": {k: tx[k] for k in ("created-by", "created-at", "updated-by", "updated-at")},
            "first-time": tx["first-time"],
            "amendments": [{"kind": "changelog", "message": tx["message"], "args": {}}],
            "issues": {"errors": errors, "warnings": []},
        }

    def put(self, user: User, data: bytes) -> JsonObject:
        body = _body(data, "root updates")
        tx = self._active()
        self._check_txid(tx, user, body)
        ci = _root(body.get("ci-root"), "staged CI root")
        prod = _root(body.get("prod-root"), "staged production root")
        current_ci, current_prod = self._current()
        for label, new, cur in (("CI", ci, current_ci), ("production", prod, current_prod)):
            if new.version != cur.version + 1:
                raise Refusal(
                    409,
                    "version-conflict",
                    f"staged {label} root must be version {cur.version + 1}, not {new.version}",
                )
        differences = pair_differences(ci.meta, prod.meta)
        if differences:
            raise Refusal(409, "prod-mismatch", "production root differs from CI root in: " + ", ".join(differences))
        online = tx["online-keys"]
        for role in ("snapshot", "timestamp"):
            found = ci.meta.roles.get(role)
            if found is None or list(found.keyids) != [online[role]]:
                raise Refusal(422, "online-keys-changed", f"the {role} role must keep the online key only")
        if online["targets"] not in ci.meta.roles["targets"].keyids:
            raise Refusal(422, "online-keys-changed", "the targets role must keep the online targets key")
        targets_sigs = _signature_map(body.get("targets-signatures"), "targets-signatures")
        waves_sigs = _signature_map(body.get("waves-signatures"), "waves-signatures")
        tx["ci-root"], tx["prod-root"] = ci.to_dict(), prod.to_dict()
        tx["targets-signatures"] = _merge(tx.get("targets-signatures"), targets_sigs)
        tx["waves-signatures"] = _merge(tx.get("waves-signatures"), waves_sigs)
        self._touch(tx, user)
        self.state.save_transaction(self.factory, tx)
        return {"message": "staged roots updated"}

    def gen_online_keys(self, user: User, data: bytes) -> JsonObject:
        body = _body(data, "gen-online-keys")
        tx = self._active()
        self._check_txid(tx, user, body)
        key_type = body.get("key-type", ED25519)
        if key_type not in (ED25519, RSA):
            raise Refusal(400, "bad-request", "key-type must be ED25519 or RSA")
        roles = [r for r in ONLINE_ROLES if body.get(r) is True]
        if not roles:
            raise Refusal(400, "bad-request", "name at least one of targets, snapshot, timestamp")
        pending = dict(tx.get("new-online-keys", {}))
        online = dict(tx["online-keys"])
        roots = [_root(tx["ci-root"], "staged CI root"), _root(tx["prod-root"], "staged production root")]
        for role in roles:
            key = generate_key(key_type, self.random_bytes, rsa_bits=2048)
            pending[role] = loads_object(secret_key_file(key))
            for index, root in enumerate(roots):
                meta = root.meta
                keys = {**meta.keys, key.keyid: key.public_key}
                role_keys = meta.roles[role]
                ids = [key.keyid if k == online[role] else k for k in role_keys.keyids]
                changed = without_unused(replace(meta, keys=keys).with_role(role, ids, role_keys.threshold))
                roots[index] = build_root(changed, (), root.envelope.extra)
            online[role] = key.keyid
        tx["ci-root"], tx["prod-root"] = roots[0].to_dict(), roots[1].to_dict()
        tx["online-keys"], tx["new-online-keys"] = online, pending
        self._touch(tx, user)
        self.state.save_transaction(self.factory, tx)
        return {"message": "online keys generated", "online-keys": online}

    def cancel(self) -> JsonObject:
        self._active()
        self.state.save_transaction(self.factory, None)
        return {"message": "TUF root updates canceled"}

    def apply(self, user: User, data: bytes) -> JsonObject:
        body = _body(data, "apply")
        tx = self._active()
        self._check_txid(tx, user, body)
        ci, prod = _root(tx["ci-root"], "staged CI root"), _root(tx["prod-root"], "staged production root")
        current_ci, current_prod = self._current()
        problems: list[str] = []
        for label, cur, new in (("CI", current_ci, ci), ("production", current_prod, prod)):
            try:
                result = check_root_update(cur, new, self.now)
            except VerificationError as exc:
                problems.append(f"{label} root: {exc.message}")
                continue
            problems.extend(f"{label} root v{new.version} {p}" for p in result.problems())
        if problems:
            message = "the staged roots cannot be applied: " + "; ".join(problems)
            raise Refusal(422, "verification-failed", message, problems)
        store = WaveStore(self.state.factory_dir(self.factory))
        targets = self._production_targets(store, prod, tx.get("targets-signatures", {}))
        waves = self._wave_targets(store, tx.get("waves-signatures", {}))
        self.state.store_root(self.factory, False, ci.version, ci.to_bytes())
        self.state.store_root(self.factory, True, prod.version, prod.to_bytes())
        for tag, envelope in targets.items():
            store.save_production_targets(tag, envelope)
        for wave in waves.values():
            store.save_wave(wave, new=False)
        self._activate_online_keys(tx.get("new-online-keys", {}))
        self.state.save_transaction(self.factory, None)
        return {"message": f"TUF root updates applied: CI and production root version {ci.version}"}

    def _production_targets(self, store: WaveStore, prod: Root, raw: object) -> dict[str, Envelope]:
        """Every published tag must stay valid under the new production root (re-signed if needed)."""
        signatures = _signature_map(raw, "targets-signatures")
        out: dict[str, Envelope] = {}
        for tag in store.tags():
            current = store.production_targets(tag)
            assert current is not None
            if tag in signatures:
                out[tag] = resigned(current, signatures[tag], prod)
            else:
                publishable(current, prod)
        unknown = set(signatures) - set(store.tags())
        if unknown:
            raise Refusal(400, "bad-request", f"targets-signatures name unknown tags {sorted(unknown)}")
        return out

    def _wave_targets(self, store: WaveStore, raw: object) -> dict[str, dict[str, Any]]:
        out = {}
        for name, sigs in _signature_map(raw, "waves-signatures").items():
            wave = store.wave(name)
            if wave is None:
                raise Refusal(400, "bad-request", f"waves-signatures name unknown wave {name!r}")
            envelope = add_signatures(Envelope.from_dict(wave["targets"], what="wave targets"), sigs)
            out[name] = {**wave, "targets": envelope.to_dict()}
        return out

    def _activate_online_keys(self, pending: Mapping[str, Any]) -> None:
        if not pending:
            return
        keys = {role: self.state.online_key(self.factory, role) for role in ONLINE_ROLES}
        for role, obj in pending.items():
            keys[role] = PrivateKey.from_parts(obj.get("keytype"), obj.get("keyval", {}).get("private"))
        self.state.save_online_keys(self.factory, keys)
        if "targets" in pending:
            old = Envelope.from_bytes(self.state.targets_bytes(self.factory), what="stored targets.json")
            signed = {**old.signed, "version": old.version + 1}
            fresh = Envelope(signed, ())
            signed_targets = add_signatures(fresh, [keys["targets"].sign(fresh.signed_bytes())])
            self.state.store_targets(self.factory, signed_targets.to_bytes())
