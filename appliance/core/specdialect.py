"""Foundries roots restated in the standard TUF spec dialect (what python-tuf reads).

The conversion exists so that an independent TUF implementation can judge the same
rotation chains our verifier judges (bundle-spec.md section 5).  A Foundries
signature cannot be carried over, because the signed bytes differ, so every
document is re-signed by the same private keys over its spec-format bytes.

Dialect rules, Foundries -> spec:
- ``_type`` ``Root`` -> ``root``; ``spec_version`` ``1.0.31`` is added.
- ``keytype`` ``ED25519``/``RSA`` -> ``ed25519``/``rsa`` with ``scheme`` ``ed25519``/``rsassa-pss-sha256``.
- ED25519 ``keyval.public`` stays 64 hex digits; RSA becomes the PEM ``PUBLIC KEY`` re-encoded
  from the DER (64 columns, trailing newline), the form securesystemslib writes.
- key ids are recomputed the spec way: sha256 of the canonical JSON of
  ``{"keytype", "scheme", "keyval": {"public"}}`` (securesystemslib ``compute_default_keyid``);
  role key id lists are remapped one to one.
- ``expires`` is carried over unchanged (both dialects accept only ``...SSZ``).
- canonical JSON is the OLPC form securesystemslib emits: sorted keys, no whitespace,
  only ``"`` and ``\\`` escaped, everything else raw UTF-8 (our Foundries form also
  escapes newlines, which matters for RSA PEM values).
- signatures are ``{"keyid": <spec id>, "sig": <hex>}`` with no ``method``.
- unknown top-level fields of ``signed`` (``x-changelog``...) are carried verbatim;
  unknown fields inside keys and roles are dropped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography.hazmat.primitives import serialization

from .errors import InputFormatError, MetadataError
from .keys import ED25519, RSA, PublicKey, Signer
from .metadata import TOP_LEVEL_ROLES, RootMeta
from .strictjson import JsonObject, JsonValue, dumps_compact
from .timefmt import format_expires

SPEC_VERSION = "1.0.31"
SPEC_KEYTYPE = {ED25519: "ed25519", RSA: "rsa"}
SPEC_SCHEME = {ED25519: "ed25519", RSA: "rsassa-pss-sha256"}
_SPEC_FIELDS = ("_type", "spec_version", "version", "expires", "keys", "roles", "consistent_snapshot")


def _encode(value: JsonValue, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, str):
        out.append('"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"')
    elif isinstance(value, Mapping):
        if not all(isinstance(k, str) for k in value):
            raise InputFormatError("object keys must be strings")
        out.append("{")
        for index, key in enumerate(sorted(value)):
            if index:
                out.append(",")
            _encode(key, out)
            out.append(":")
            _encode(value[key], out)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _encode(item, out)
        out.append("]")
    else:
        raise InputFormatError(f"type {type(value).__name__} has no spec canonical JSON form")


def spec_canonical(value: JsonValue) -> bytes:
    """The bytes a spec-TUF signature covers (securesystemslib ``encode_canonical``)."""
    out: list[str] = []
    _encode(value, out)
    return "".join(out).encode("utf-8")


def spec_public_value(key: PublicKey) -> str:
    if key.kind == ED25519:
        return key.raw_ed25519().hex()
    loaded = serialization.load_der_public_key(key.spki_der)
    pem = loaded.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem.decode("ascii")


def spec_key_dict(key: PublicKey) -> JsonObject:
    return {
        "keytype": SPEC_KEYTYPE[key.kind],
        "scheme": SPEC_SCHEME[key.kind],
        "keyval": {"public": spec_public_value(key)},
    }


def spec_keyid(key: PublicKey) -> str:
    """The TUF-spec key id: sha256 of the canonical JSON of the key object."""
    return hashlib.sha256(spec_canonical(spec_key_dict(key))).hexdigest()


def spec_keyids(meta: RootMeta) -> dict[str, str]:
    """Foundries key id -> spec key id for every key of ``meta``; refuses a key listed twice."""
    mapping: dict[str, str] = {}
    seen: dict[str, str] = {}
    for keyid, key in meta.keys.items():
        spec_id = spec_keyid(key)
        if spec_id in seen:
            raise MetadataError(f"the same public key is listed under key ids {seen[spec_id][:16]} and {keyid[:16]}")
        seen[spec_id] = keyid
        mapping[keyid] = spec_id
    return mapping


def to_spec_signed(meta: RootMeta) -> JsonObject:
    """The ``signed`` object of ``meta`` in the spec dialect."""
    if set(meta.roles) != set(TOP_LEVEL_ROLES):
        names = ", ".join(sorted(meta.roles))
        raise MetadataError(f"a spec TUF root needs exactly the roles root, targets, snapshot, timestamp (has {names})")
    ids = spec_keyids(meta)
    out: JsonObject = {k: v for k, v in meta.extra.items() if k not in _SPEC_FIELDS}
    out.update(
        {
            "_type": "root",
            "spec_version": SPEC_VERSION,
            "version": meta.version,
            "expires": format_expires(meta.expires_at),
            "keys": {ids[kid]: spec_key_dict(key) for kid, key in meta.keys.items()},
            "roles": {
                name: {"keyids": [ids[kid] for kid in role.keyids], "threshold": role.threshold}
                for name, role in meta.roles.items()
            },
        }
    )
    if meta.consistent_snapshot is not None:
        out["consistent_snapshot"] = meta.consistent_snapshot
    return out


def spec_signature(signer: Signer, payload: bytes, *, keyid: str | None = None) -> JsonObject:
    """One spec signature entry by ``signer`` over ``payload`` (under its spec key id unless given)."""
    entry = signer.sign(payload)
    return {"keyid": keyid or spec_keyid(signer.public_key), "sig": entry.sig.hex()}


def spec_envelope(signed: JsonObject, signatures: Sequence[JsonObject]) -> JsonObject:
    return {"signatures": list(signatures), "signed": signed}


def sign_spec(signed: JsonObject, signers: Sequence[Signer]) -> JsonObject:
    """Sign an already converted ``signed`` object with every signer."""
    payload = spec_canonical(signed)
    return spec_envelope(signed, [spec_signature(s, payload) for s in signers])


def to_spec_root(meta: RootMeta, signers: Sequence[Signer]) -> JsonObject:
    """``meta`` as a spec-TUF root.json object, signed by every signer over the spec bytes."""
    return sign_spec(to_spec_signed(meta), signers)


def spec_root_bytes(envelope: Mapping[str, Any]) -> bytes:
    """A spec root.json file body.  Not the canonical form: that keeps raw newlines inside
    strings (RSA PEM), which is not valid JSON for a parser."""
    return dumps_compact(dict(envelope))
