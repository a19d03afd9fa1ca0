"""Shared builders for core tests: fixed-seed keys, Foundries-style roots and in-memory tarballs.

Everything here is deterministic (ED25519 signatures are), so tests may compare bytes.
"""

from __future__ import annotations

import gzip
import json
import tarfile
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from appliance.core.keys import PublicKey, SignatureEntry, public_key_file
from appliance.core.metadata import Root, RootMeta, sign_root
from appliance.core.privatekeys import PrivateKey, secret_key_file
from appliance.core.strictjson import canonical
from tests.support.tarballs import Member, tar_bytes

VECTORS = Path(__file__).parent / "vectors"
FIXED_NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
FUTURE = "2035-01-01T00:00:00Z"
PAST = "2020-01-01T00:00:00Z"


def ed_key(i: int) -> PrivateKey:
    """The test-only ED25519 key with seed ``bytes([i]) * 32``."""
    return PrivateKey.from_ed25519_seed(bytes([i]) * 32)


def load_vectors() -> dict[str, Any]:
    return json.loads((VECTORS / "keys.json").read_text())


def rsa_test_key() -> PrivateKey:
    """The pinned test-only RSA-2048 key (saves generating one)."""
    from appliance.core.privatekeys import parse_secret_key_file

    return parse_secret_key_file((VECTORS / "rsa2048-test.sec").read_bytes())


def _pub(key: PrivateKey | PublicKey) -> PublicKey:
    return key.public_key if isinstance(key, PrivateKey) else key


def root_signed(
    root: Sequence[PrivateKey | PublicKey],
    targets: Sequence[PrivateKey | PublicKey] | None = None,
    *,
    version: int = 1,
    expires: str = FUTURE,
    root_threshold: int = 1,
    targets_threshold: int = 1,
    online: PrivateKey | PublicKey | None = None,
    also_keys: Sequence[PrivateKey | PublicKey] = (),
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A root ``signed`` object shaped like a Foundries root (all four roles).

    ``targets`` defaults to ed_key(50); ``online`` (snapshot and timestamp) to ed_key(60);
    ``also_keys`` are listed under ``keys`` without a role (an old root key, say).
    """
    targets = list(targets) if targets is not None else [ed_key(50)]
    online_key = _pub(online if online is not None else ed_key(60))
    keys: dict[str, Any] = {}
    for key in [*root, *targets, online_key, *also_keys]:
        pub = _pub(key)
        keys[pub.keyid] = pub.to_dict()
    roles = {
        "root": {"keyids": [_pub(k).keyid for k in root], "threshold": root_threshold},
        "targets": {"keyids": [_pub(k).keyid for k in targets], "threshold": targets_threshold},
        "snapshot": {"keyids": [online_key.keyid], "threshold": 1},
        "timestamp": {"keyids": [online_key.keyid], "threshold": 1},
    }
    signed: dict[str, Any] = {
        "_type": "Root",
        "consistent_snapshot": False,
        "expires": expires,
        "keys": keys,
        "roles": roles,
        "version": version,
    }
    signed.update(extra or {})
    return signed


def signed_root(signed: Mapping[str, Any], signers: Sequence[PrivateKey]) -> Root:
    return sign_root(RootMeta.from_dict(signed), signers)


def envelope(signed: Mapping[str, Any], signatures: Iterable[SignatureEntry]) -> dict[str, Any]:
    return {"signatures": [s.to_dict() for s in signatures], "signed": dict(signed)}


def sign_dict(signed: Mapping[str, Any], signers: Sequence[PrivateKey]) -> dict[str, Any]:
    """The envelope dict, signed over canonical(signed) without going through RootMeta."""
    payload = canonical(dict(signed))
    return envelope(signed, [k.sign(payload) for k in signers])


def bad_signature(key: PrivateKey) -> SignatureEntry:
    """A well-formed signature by ``key`` over the wrong bytes."""
    return key.sign(b"not the payload")


# --- tarballs ---------------------------------------------------------------


def tgz(members: Iterable[Member | tuple[str, bytes]], *, fmt: int = tarfile.PAX_FORMAT) -> bytes:
    return gzip.compress(tar_bytes(members, fmt=fmt), mtime=0)


def key_members(role_keys: Mapping[str, PrivateKey], *, private: bool = True) -> list[tuple[str, bytes]]:
    """``tufrepo/keys/<name>.pub`` (and ``.sec``) members for each named key."""
    out: list[tuple[str, bytes]] = []
    for name, key in role_keys.items():
        out.append((f"tufrepo/keys/{name}.pub", public_key_file(key.public_key)))
        if private:
            out.append((f"tufrepo/keys/{name}.sec", secret_key_file(key)))
    return out
