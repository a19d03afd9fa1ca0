"""Builders for root rotation chains, each version in both dialects.

A chain is a list of ``Version``s: version 1 first (the trust anchor), then the
documents a device would be handed in order.  Every version carries the Foundries
root.json a server would serve and the same root restated in the spec-TUF dialect,
signed by the same private keys (appliance.core.specdialect).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric import rsa as c_rsa

from appliance.core.errors import AirgapError
from appliance.core.metadata import Root, RootMeta, sign_root
from appliance.core.privatekeys import PrivateKey
from appliance.core.specdialect import spec_canonical, spec_envelope, spec_signature, to_spec_root, to_spec_signed
from appliance.core.strictjson import JsonObject, canonical
from appliance.core.verify import verify_root_chain, verify_self_signed

# Our verifier's clock.  python-tuf reads the real clock, so expiry dates sit far on either side.
NOW = datetime(2025, 6, 1, tzinfo=UTC)
LIVE = "2099-01-01T00:00:00Z"
EXPIRED = "2020-01-01T00:00:00Z"
ONLINE_SEED = 200  # the key of the targets, snapshot and timestamp roles in every root


@functools.cache
def ed(i: int) -> PrivateKey:
    return PrivateKey.from_ed25519_seed(bytes([i]) * 32)


@functools.cache
def rsa2048(i: int = 0) -> PrivateKey:
    """RSA-2048 keys are generated once per process (generation takes a noticeable time)."""
    return PrivateKey.from_rsa(c_rsa.generate_private_key(public_exponent=65537, key_size=2048))


def online() -> PrivateKey:
    return ed(ONLINE_SEED)


def root_meta(
    version: int,
    root_keys: Sequence[PrivateKey],
    threshold: int,
    *,
    expires: str = LIVE,
) -> RootMeta:
    """A Foundries root with the given root keys; the other three roles use the online key."""
    keys = {k.keyid: k.public_key.to_dict() for k in (*root_keys, online())}
    role_ids = {"keyids": [online().keyid], "threshold": 1}
    return RootMeta.from_dict(
        {
            "_type": "Root",
            "version": version,
            "expires": expires,
            "keys": keys,
            "roles": {
                "root": {"keyids": [k.keyid for k in root_keys], "threshold": threshold},
                "targets": dict(role_ids),
                "snapshot": dict(role_ids),
                "timestamp": dict(role_ids),
            },
            "consistent_snapshot": False,
        }
    )


@dataclass(frozen=True)
class Version:
    foundries: JsonObject  # root.json as the factory serves it
    spec: JsonObject  # the same root in the spec-TUF dialect


def signed(meta: RootMeta, *signers: PrivateKey) -> Version:
    return Version(sign_root(meta, signers).to_dict(), to_spec_root(meta, signers))


def rotate(
    version: int,
    root_keys: Sequence[PrivateKey],
    threshold: int,
    signers: Sequence[PrivateKey],
    *,
    expires: str = LIVE,
) -> Version:
    return signed(root_meta(version, root_keys, threshold, expires=expires), *signers)


def anchor(root_keys: Sequence[PrivateKey], threshold: int, *, expires: str = LIVE) -> Version:
    """Version 1, signed by all its root keys."""
    return rotate(1, root_keys, threshold, root_keys, expires=expires)


def tampered(version: Version) -> Version:
    """The same signatures over a changed ``signed`` part (expiry moved) in both dialects."""
    foundries = copy.deepcopy(version.foundries)
    spec = copy.deepcopy(version.spec)
    foundries["signed"]["expires"] = "2098-01-01T00:00:00Z"
    spec["signed"]["expires"] = "2098-01-01T00:00:00Z"
    return Version(foundries, spec)


def duplicate_key(version: int, key: PrivateKey) -> Version:
    """Root keys: ``key`` listed under two key ids, threshold 2, signed by ``key`` under both ids.

    The Foundries form aliases a made-up id; the spec form lists the key under its spec
    id and its Foundries id (two tools that compute ids differently meeting in one file).
    """
    meta = root_meta(version, [key], 1)
    alias = "f" * 64
    foundries_signed = meta.to_dict()
    foundries_signed["keys"][alias] = key.public_key.to_dict()
    foundries_signed["roles"]["root"] = {"keyids": [key.keyid, alias], "threshold": 2}
    payload = canonical(foundries_signed)
    foundries = {
        "signatures": [key.sign(payload).to_dict(), key.sign(payload, keyid=alias).to_dict()],
        "signed": foundries_signed,
    }
    spec_signed = to_spec_signed(meta)
    (spec_id,) = spec_signed["roles"]["root"]["keyids"]
    spec_signed["keys"][key.keyid] = spec_signed["keys"][spec_id]
    spec_signed["roles"]["root"] = {"keyids": [spec_id, key.keyid], "threshold": 2}
    spec_payload = spec_canonical(spec_signed)
    spec = spec_envelope(
        spec_signed, [spec_signature(key, spec_payload), spec_signature(key, spec_payload, keyid=key.keyid)]
    )
    return Version(foundries, spec)


def our_verdict(chain: Sequence[Version], start: int = 0) -> str | None:
    """None when our verifier walks from ``chain[start]`` to the newest root, else its error.

    The start root is trusted on first use, so it must be signed by its own root keys,
    as python-tuf requires of its bootstrap root.
    """
    try:
        roots = [Root.from_dict(v.foundries, what=f"root #{i}") for i, v in enumerate(chain) if i >= start]
        verify_self_signed(roots[0])
        final = verify_root_chain(roots[0], roots[1:], NOW)
    except AirgapError as exc:
        return exc.message
    assert final.to_dict() == chain[-1].foundries
    return None
