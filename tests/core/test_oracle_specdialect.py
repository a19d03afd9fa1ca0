"""The spec-TUF dialect checked against securesystemslib and python-tuf themselves."""

from __future__ import annotations

import dataclasses

import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import given
from hypothesis import strategies as st
from securesystemslib.exceptions import UnverifiedSignatureError
from securesystemslib.formats import encode_canonical
from securesystemslib.signer import Signature, SSlibKey
from tuf.api.metadata import Metadata, Root

from appliance.core.errors import InputFormatError, MetadataError
from appliance.core.keys import PublicKey
from appliance.core.metadata import RootMeta, sign_root
from appliance.core.privatekeys import PrivateKey
from appliance.core.specdialect import (
    SPEC_VERSION,
    spec_canonical,
    spec_key_dict,
    spec_keyid,
    spec_keyids,
    spec_root_bytes,
    to_spec_root,
    to_spec_signed,
)
from tests.helpers_rotation import ed, online, root_meta, rsa2048

_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=20,
)


@given(_json)
def test_canonical_matches_securesystemslib(value: object) -> None:
    assert spec_canonical(value) == encode_canonical(value).encode("utf-8")


@pytest.mark.parametrize("value", [1.5, b"bytes", {1: "x"}, object()])
def test_canonical_refuses_non_json(value: object) -> None:
    with pytest.raises(InputFormatError):
        spec_canonical(value)


def _keys() -> list[PrivateKey]:
    return [ed(1), rsa2048()]


@pytest.mark.parametrize("kind", ["ED25519", "RSA"])
def test_key_and_key_id_match_securesystemslib(kind: str) -> None:
    key = ed(1) if kind == "ED25519" else rsa2048()
    crypto_public = serialization.load_der_public_key(key.public_key.spki_der)
    theirs = SSlibKey.from_crypto(crypto_public)
    assert spec_keyid(key.public_key) == theirs.keyid
    assert spec_key_dict(key.public_key) == theirs.to_dict()
    assert spec_keyid(key.public_key) != key.keyid  # the Foundries rule differs


def test_rsa_public_value_is_normalised() -> None:
    """A PEM without its trailing newline or with other wrapping is the same spec key."""
    key = rsa2048().public_key
    body = "".join(key.public.strip().splitlines()[1:-1])
    rewrapped = "-----BEGIN PUBLIC KEY-----\n" + "\n".join(body[i : i + 76] for i in range(0, len(body), 76))
    other = PublicKey.from_parts("RSA", rewrapped + "\n-----END PUBLIC KEY-----")
    assert other.public != key.public
    assert spec_key_dict(other) == spec_key_dict(key)
    assert spec_key_dict(key)["keyval"]["public"].endswith("-----END PUBLIC KEY-----\n")


@pytest.mark.parametrize("index", [0, 1], ids=["ed25519", "rsa"])
def test_our_signature_verifies_with_securesystemslib(index: int) -> None:
    key = _keys()[index]
    payload = spec_canonical(to_spec_signed(root_meta(1, [key], 1)))
    entry = key.sign(payload)
    sslib_key = SSlibKey.from_dict(spec_keyid(key.public_key), spec_key_dict(key.public_key))
    sslib_key.verify_signature(Signature(sslib_key.keyid, entry.sig.hex()), payload)
    with pytest.raises(UnverifiedSignatureError):
        sslib_key.verify_signature(Signature(sslib_key.keyid, entry.sig.hex()), payload + b" ")


def test_foundries_signature_does_not_carry_over() -> None:
    """The two dialects sign different bytes, which is why the dialect re-signs."""
    meta = root_meta(1, [ed(1)], 1)
    foundries = sign_root(meta, [ed(1)])
    spec_payload = spec_canonical(to_spec_signed(meta))
    assert foundries.signed_bytes() != spec_payload
    assert not ed(1).public_key.verify("ed25519", foundries.signatures[0].sig, spec_payload)


def _rich_meta() -> RootMeta:
    """RSA and ED25519 root keys, unknown fields at every level."""
    meta = root_meta(4, [ed(1), rsa2048()], 2)
    data = meta.to_dict()
    data["expires"] = "2031-02-03T04:05:06Z"
    data["x-changelog"] = {"polis-id": "p1", "message": "rotate\nroot", "timestamp": "2025-01-01T00:00:00Z"}
    data["keys"][ed(1).keyid]["keyval"]["comment"] = "dropped"
    data["roles"]["root"]["note"] = "dropped"
    return RootMeta.from_dict(data)


def test_python_tuf_reads_and_verifies_a_converted_root() -> None:
    meta = _rich_meta()
    envelope = to_spec_root(meta, [ed(1), rsa2048()])
    md = Metadata[Root].from_bytes(spec_root_bytes(envelope))
    # python-tuf re-serialises what it parsed: the bytes it verifies are the ones we signed.
    assert md.signed_bytes == spec_canonical(envelope["signed"])
    md.signed.verify_delegate("root", md.signed_bytes, md.signatures)
    assert md.signed.version == 4
    assert md.signed.unrecognized_fields == {"x-changelog": meta.extra["x-changelog"]}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (("_type",), "root"),
        (("spec_version",), SPEC_VERSION),
        (("version",), 4),
        (("expires",), "2031-02-03T04:05:06Z"),
        (("consistent_snapshot",), False),
        (("roles", "root", "threshold"), 2),
    ],
)
def test_spec_signed_fields(path: tuple[str, ...], expected: object) -> None:
    value: object = to_spec_signed(_rich_meta())
    for part in path:
        assert isinstance(value, dict)
        value = value[part]
    assert value == expected


def test_keys_are_remapped_one_to_one() -> None:
    meta = _rich_meta()
    ids = spec_keyids(meta)
    signed = to_spec_signed(meta)
    assert set(signed["keys"]) == set(ids.values())
    assert len(set(ids.values())) == len(ids) == 3
    for foundries_id, spec_id in ids.items():
        assert signed["keys"][spec_id] == spec_key_dict(meta.keys[foundries_id])
    assert signed["keys"][ids[ed(1).keyid]] == {
        "keytype": "ed25519",
        "scheme": "ed25519",
        "keyval": {"public": ed(1).public_key.public},
    }
    assert signed["keys"][ids[rsa2048().keyid]]["keytype"] == "rsa"
    assert signed["keys"][ids[rsa2048().keyid]]["scheme"] == "rsassa-pss-sha256"
    assert signed["roles"]["root"] == {"keyids": [ids[ed(1).keyid], ids[rsa2048().keyid]], "threshold": 2}
    assert signed["roles"]["timestamp"]["keyids"] == [ids[online().keyid]]


def test_signatures_are_hex_under_spec_ids() -> None:
    meta = root_meta(1, [ed(1), ed(2)], 2)
    envelope = to_spec_root(meta, [ed(1), ed(2)])
    assert [s["keyid"] for s in envelope["signatures"]] == [spec_keyid(ed(1).public_key), spec_keyid(ed(2).public_key)]
    for sig in envelope["signatures"]:
        assert set(sig) == {"keyid", "sig"}
        assert len(bytes.fromhex(sig["sig"])) == 64


def _without_role(name: str) -> RootMeta:
    meta = root_meta(1, [ed(1)], 1)
    return dataclasses.replace(meta, roles={k: v for k, v in meta.roles.items() if k != name})


def _with_extra_role() -> RootMeta:
    meta = root_meta(1, [ed(1)], 1)
    return dataclasses.replace(meta, roles={**meta.roles, "delegated": meta.roles["targets"]})


def _same_key_twice() -> RootMeta:
    meta = root_meta(1, [ed(1)], 1)
    return dataclasses.replace(meta, keys={**meta.keys, "f" * 64: ed(1).public_key})


@pytest.mark.parametrize(
    ("build", "fragment"),
    [
        (lambda: _without_role("snapshot"), "needs exactly the roles"),
        (lambda: _without_role("timestamp"), "needs exactly the roles"),
        (_with_extra_role, "has delegated, root"),
        (_same_key_twice, "the same public key is listed"),
    ],
)
def test_conversion_refuses(build: object, fragment: str) -> None:
    assert callable(build)
    with pytest.raises(MetadataError, match=fragment):
        to_spec_signed(build())
