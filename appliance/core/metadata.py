"""Signed TUF metadata in the Foundries (ota-tuf) dialect, kept lossless.

``Envelope`` is the outer ``{"signatures": [...], "signed": {...}}`` object; it keeps
the ``signed`` object raw plus any unknown top-level fields (Foundries adds
``targets-signatures``).  ``RootMeta`` is a typed view of a root's ``signed`` part
that keeps every unknown field (``x-changelog``, ``x-key-owners``...) so that
``RootMeta.from_dict(d).to_dict() == d``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from .errors import InputFormatError, KeyFormatError, MetadataError
from .keys import PublicKey, SignatureEntry
from .strictjson import DEFAULT_MAX_BYTES, JsonObject, canonical, dumps_compact, loads_object
from .timefmt import parse_expires

ROOT_TYPE = "Root"
TARGETS_TYPE = "Targets"
TOP_LEVEL_ROLES = ("root", "targets", "snapshot", "timestamp")
MAX_METADATA_BYTES = DEFAULT_MAX_BYTES
MAX_THRESHOLD = 1000  # aktualizr's kMaxSignatures


def _require_int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise MetadataError(f"{what} must be an integer")
    return value


@dataclass(frozen=True)
class Envelope:
    signed: JsonObject
    signatures: tuple[SignatureEntry, ...]
    extra: Mapping[str, Any] = field(default_factory=dict)
    # Canonical bytes of ``signed`` from validation, so a document is encoded once.  ``signed``
    # is never mutated after construction; a copy with other content is a new Envelope.
    canonical_signed: bytes | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_dict(cls, data: object, *, what: str = "metadata", parsed: bool = False) -> Envelope:
        """``parsed``: ``data`` comes unchanged from strictjson.loads (see strictjson.canonical)."""
        if not isinstance(data, Mapping):
            raise MetadataError(f"{what} must be a JSON object")
        signed = data.get("signed")
        sigs = data.get("signatures")
        if not isinstance(signed, dict):
            raise MetadataError(f"{what} has no 'signed' object")
        if not isinstance(sigs, list):
            raise MetadataError(f"{what} has no 'signatures' list")
        try:
            encoded = canonical(signed, parsed=parsed)
        except InputFormatError as exc:
            raise MetadataError(f"{what}: {exc.message}") from exc
        extra = {k: v for k, v in data.items() if k not in ("signed", "signatures")}
        return cls(signed, tuple(SignatureEntry.from_dict(s) for s in sigs), extra, encoded)

    @classmethod
    def from_bytes(cls, data: bytes, *, what: str = "metadata") -> Envelope:
        return cls.from_dict(loads_object(data, max_bytes=MAX_METADATA_BYTES, what=what), what=what, parsed=True)

    def to_dict(self) -> JsonObject:
        out: JsonObject = dict(self.extra)
        out["signatures"] = [s.to_dict() for s in self.signatures]
        out["signed"] = self.signed
        return out

    def to_bytes(self) -> bytes:
        return dumps_compact(self.to_dict())

    def signed_bytes(self) -> bytes:
        return self.canonical_signed if self.canonical_signed is not None else canonical(self.signed)

    @property
    def type(self) -> str:
        value = self.signed.get("_type")
        return value if isinstance(value, str) else ""

    @property
    def version(self) -> int:
        return _require_int(self.signed.get("version"), "version")


@dataclass(frozen=True)
class RoleKeys:
    keyids: tuple[str, ...]
    threshold: int
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, name: str, data: object) -> RoleKeys:
        if not isinstance(data, Mapping):
            raise MetadataError(f"role {name} must be an object")
        keyids = data.get("keyids")
        if not isinstance(keyids, list) or not all(isinstance(k, str) for k in keyids):
            raise MetadataError(f"role {name} keyids must be a list of strings")
        if len(set(keyids)) != len(keyids):
            raise MetadataError(f"role {name} lists a key id twice")
        threshold = _require_int(data.get("threshold"), f"role {name} threshold")
        if threshold < 1 or threshold > MAX_THRESHOLD:
            raise MetadataError(f"role {name} threshold {threshold} is outside 1..{MAX_THRESHOLD}")
        if threshold > len(keyids):
            raise MetadataError(f"role {name} threshold {threshold} exceeds its {len(keyids)} key(s)")
        extra = {k: v for k, v in data.items() if k not in ("keyids", "threshold")}
        return cls(tuple(keyids), threshold, extra)

    def to_dict(self) -> JsonObject:
        out: JsonObject = dict(self.extra)
        out["keyids"] = list(self.keyids)
        out["threshold"] = self.threshold
        return out


def _same_key(raw: object, known: PublicKey | None) -> PublicKey | None:
    """``known`` when ``raw`` is exactly its plain listing (what PublicKey.from_dict would rebuild)."""
    if known is None or known.extra or known.keyval_extra or type(raw) is not dict or len(raw) != 2:
        return None
    keyval = raw.get("keyval")
    if type(keyval) is not dict or len(keyval) != 1 or keyval.get("public") != known.public:
        return None
    return known if raw.get("keytype") == known.keytype else None


def _same_role(raw: object, known: RoleKeys | None) -> RoleKeys | None:
    """``known`` when ``raw`` lists exactly its key ids and threshold (an int, not a bool equal to one)."""
    if known is None or known.extra or type(raw) is not dict or len(raw) != 2:
        return None
    threshold = raw.get("threshold")
    if type(threshold) is not int or threshold != known.threshold:
        return None
    keyids = raw.get("keyids")
    return known if type(keyids) is list and tuple(keyids) == known.keyids else None


_ROOT_FIELDS = ("_type", "version", "expires", "keys", "roles", "consistent_snapshot")


@dataclass(frozen=True)
class RootMeta:
    type: str
    version: int
    expires: str
    keys: Mapping[str, PublicKey]
    roles: Mapping[str, RoleKeys]
    consistent_snapshot: bool | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        known_keys: Mapping[str, PublicKey] | None = None,
        known_roles: Mapping[str, RoleKeys] | None = None,
    ) -> RootMeta:
        """``known_keys``/``known_roles``: the previous root's, reused where listed identically."""
        type_ = data.get("_type")
        if not isinstance(type_, str) or type_.lower() != "root":
            raise MetadataError(f"_type is {type_!r}, expected Root")
        version = _require_int(data.get("version"), "version")
        if version < 1:
            raise MetadataError("version must be at least 1")
        expires = data.get("expires")
        parse_expires(expires)
        assert isinstance(expires, str)
        raw_keys = data.get("keys")
        raw_roles = data.get("roles")
        if not isinstance(raw_keys, Mapping) or not isinstance(raw_roles, Mapping):
            raise MetadataError("root needs 'keys' and 'roles' objects")
        keys: dict[str, PublicKey] = {}
        seen: dict[bytes, str] = {}
        for keyid, raw in raw_keys.items():
            key = _same_key(raw, known_keys.get(keyid)) if known_keys else None
            if key is None:
                try:
                    key = PublicKey.from_dict(raw)
                except KeyFormatError as exc:
                    raise MetadataError(f"key {keyid[:16]}: {exc.message}") from exc
            # Checked before the id match so that a second listing gets the more telling message.
            if key.spki_der in seen:
                raise MetadataError(
                    f"the same public key is listed under key ids {seen[key.spki_der][:16]} and {keyid[:16]}"
                )
            if key.keyid != keyid:
                raise MetadataError(
                    f"key id {keyid[:16]}… does not match its key (sha256 of the DER public key is {key.keyid[:16]}…)"
                )
            seen[key.spki_der] = keyid
            keys[keyid] = key
        roles: dict[str, RoleKeys] = {}
        for name, raw in raw_roles.items():
            role = _same_role(raw, known_roles.get(name)) if known_roles else None
            role = role or RoleKeys.from_dict(name, raw)
            for keyid in role.keyids:
                if keyid not in keys:
                    raise MetadataError(f"role {name} names key {keyid[:16]} which is not in keys")
            roles[name] = role
        for required in ("root", "targets"):
            if required not in roles:
                raise MetadataError(f"root has no {required} role")
        consistent = data.get("consistent_snapshot")
        # A present null would be dropped by to_dict(), so only absent or a boolean is lossless.
        if "consistent_snapshot" in data and not isinstance(consistent, bool):
            raise MetadataError("consistent_snapshot must be a boolean")
        extra = {k: v for k, v in data.items() if k not in _ROOT_FIELDS}
        return cls(type_, version, expires, keys, roles, consistent, extra)

    def to_dict(self) -> JsonObject:
        out: JsonObject = dict(self.extra)
        out["_type"] = self.type
        out["version"] = self.version
        out["expires"] = self.expires
        out["keys"] = {kid: key.to_dict() for kid, key in self.keys.items()}
        out["roles"] = {name: role.to_dict() for name, role in self.roles.items()}
        if self.consistent_snapshot is not None:
            out["consistent_snapshot"] = self.consistent_snapshot
        return out

    @property
    def expires_at(self) -> datetime:
        return parse_expires(self.expires)

    def role_keys(self, role: str) -> dict[str, PublicKey]:
        return {kid: self.keys[kid] for kid in self.roles[role].keyids}

    def with_role(self, name: str, keyids: Sequence[str], threshold: int) -> RootMeta:
        roles = dict(self.roles)
        old = roles.get(name)
        roles[name] = RoleKeys(tuple(keyids), threshold, old.extra if old else {})
        return replace(self, roles=roles)

    def without_unused_keys(self, keep: Sequence[str] = ()) -> RootMeta:
        used = {kid for role in self.roles.values() for kid in role.keyids} | set(keep)
        return replace(self, keys={kid: key for kid, key in self.keys.items() if kid in used})


@dataclass(frozen=True)
class Root:
    """A parsed root.json: the envelope (lossless) plus its typed ``signed`` view."""

    envelope: Envelope
    meta: RootMeta

    @classmethod
    def from_envelope(cls, envelope: Envelope, known: RootMeta | None = None) -> Root:
        """``known``: the previous root, whose keys and roles are reused where listed identically."""
        if known is None:
            return cls(envelope, RootMeta.from_dict(envelope.signed))
        return cls(envelope, RootMeta.from_dict(envelope.signed, known.keys, known.roles))

    @classmethod
    def from_bytes(cls, data: bytes, *, what: str = "root.json", known: RootMeta | None = None) -> Root:
        envelope = Envelope.from_bytes(data, what=what)
        try:
            return cls.from_envelope(envelope, known)
        except MetadataError as exc:
            raise MetadataError(f"{what}: {exc.message}") from exc

    @classmethod
    def from_dict(cls, data: object, *, what: str = "root.json", known: RootMeta | None = None) -> Root:
        envelope = Envelope.from_dict(data, what=what)
        try:
            return cls.from_envelope(envelope, known)
        except MetadataError as exc:
            raise MetadataError(f"{what}: {exc.message}") from exc

    @property
    def version(self) -> int:
        return self.meta.version

    @property
    def signatures(self) -> tuple[SignatureEntry, ...]:
        return self.envelope.signatures

    def signed_bytes(self) -> bytes:
        return self.envelope.signed_bytes()

    def to_bytes(self) -> bytes:
        return self.envelope.to_bytes()

    def to_dict(self) -> JsonObject:
        return self.envelope.to_dict()


def build_root(meta: RootMeta, signatures: Sequence[SignatureEntry], extra: Mapping[str, Any] | None = None) -> Root:
    signed = meta.to_dict()
    return Root(Envelope(signed, tuple(signatures), dict(extra or {})), RootMeta.from_dict(signed))


def sign_root(meta: RootMeta, signers: Sequence[Any], extra: Mapping[str, Any] | None = None) -> Root:
    """Sign ``meta`` with every signer (each a keys.PrivateKey or another Signer)."""
    signed = meta.to_dict()
    payload = canonical(signed)
    envelope = Envelope(signed, tuple(s.sign(payload) for s in signers), dict(extra or {}), payload)
    return Root(envelope, RootMeta.from_dict(signed))
