"""PKCS#11 reference members (RFC 7512 URIs) and token entries in the keys tarball (pure)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.core.errors import KeyFormatError, TarballError, TokenError
from appliance.core.keys import public_key_file
from appliance.core.keysarchive import KeysArchive
from appliance.core.privatekeys import PrivateKey, secret_key_file
from appliance.core.tokenref import Pkcs11Uri, TokenRef, key_uri, parse_reference, parse_uri, pct_decode
from tests.helpers_ceremony import make_factory, seeded

KEY = seeded(7)
BASE = f"tufrepo/keys/fioctl-root-{KEY.keyid}"


def _uri(**kw: object) -> Pkcs11Uri:
    return key_uri(token="officer a", serial="0ceeb053", object_label="tuf-root", object_id=b"\x01\xff", **kw)  # type: ignore[arg-type]


def _member(**fields: object) -> bytes:
    return json.dumps({"keyid": KEY.keyid, "keytype": "ED25519", "uri": _uri().emit(), **fields}).encode()


def test_uri_emits_rfc7512_and_parses_back() -> None:
    uri = _uri(manufacturer="SoftHSM project")
    text = uri.emit()
    assert text == (
        "pkcs11:token=officer%20a;manufacturer=SoftHSM%20project;serial=0ceeb053;object=tuf-root;type=private;id=%01%ff"
    )
    again = parse_uri(text)
    assert again == uri
    assert (again.token, again.serial, again.object_label, again.object_id) == (
        "officer a",
        "0ceeb053",
        "tuf-root",
        b"\x01\xff",
    )


def test_rfc7512_examples_parse() -> None:
    """Examples from RFC 7512 section 3."""
    uri = parse_uri(
        "pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;manufacturer=Snake%20Oil,%20Inc.;model=1.0;object=my-certificate;type=cert;id=%69%95%3E%5C%F4%BD%EC%91;serial="
    )
    assert uri.token == "The Software PKCS#11 Softtoken"
    assert uri.text("manufacturer") == "Snake Oil, Inc."
    assert uri.object_id == bytes.fromhex("69953e5cf4bdec91")
    assert parse_uri("pkcs11:").path == {}
    assert (
        parse_uri("pkcs11:object=my-sign-key;type=private?module-path=/mnt/libmypkcs11.so.1").module_path
        == "/mnt/libmypkcs11.so.1"
    )


@given(
    st.text(min_size=1, max_size=20).filter(lambda s: s.isprintable()),
    st.text(alphabet="0123456789abcdef", min_size=1, max_size=16),
    st.binary(min_size=1, max_size=32),
)
def test_uri_round_trip(token: str, serial: str, object_id: bytes) -> None:
    uri = key_uri(token=token, serial=serial, object_label=token, object_id=object_id)
    assert parse_uri(uri.emit()) == uri


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("pkcs12:token=a", "must start with"),
        ("pkcs11:token=a;token=b", "twice"),
        ("pkcs11:colour=red", "unknown path attribute"),
        ("pkcs11:token=a?pin-value=1234", "never hold or point at a PIN"),
        ("pkcs11:token=a?pin-source=file:/pin", "never hold or point at a PIN"),
        ("pkcs11:token=a%2", "bad percent escape"),
        ("pkcs11:token=a%zz", "bad percent escape"),
        ("pkcs11:token=a b", "must be percent-encoded"),
        ("pkcs11:token=%1b[31m", "control characters"),
        ("pkcs11:token=%ff", "not UTF-8"),
        ("pkcs11:type=secret", "type"),
        ("pkcs11:token", "not name=value"),
    ],
)
def test_bad_uris_are_refused(text: str, problem: str) -> None:
    with pytest.raises(KeyFormatError, match=problem):
        parse_uri(text)


def test_vendor_attributes_are_kept() -> None:
    assert parse_uri("pkcs11:x-vendor=1;token=a").path["x-vendor"] == b"1"
    assert pct_decode("%41b", what="t") == b"Ab"


def test_reference_member_round_trip_one_and_two_tokens() -> None:
    one = TokenRef(KEY.keyid, "ED25519", (_uri(),))
    assert parse_reference(one.to_member()) == one
    assert json.loads(one.to_member())["uri"].startswith("pkcs11:")
    two = TokenRef(KEY.keyid, "ED25519", (_uri(), key_uri(token="b", serial="2", object_label="x", object_id=b"\x02")))
    assert parse_reference(two.to_member()) == two
    assert two.describe() == ["token officer a (serial 0ceeb053)", "token b (serial 2)"]


@pytest.mark.parametrize(
    ("member", "problem"),
    [
        (_member(extra=1), "unknown fields"),
        (_member(keyid="AB" * 32), "64 lowercase hex"),
        (_member(keytype="DSA"), "unsupported keytype"),
        (_member(uris=["pkcs11:token=a;id=%01"]), "exactly one of"),
        (json.dumps({"keyid": KEY.keyid, "keytype": "ED25519", "uris": []}).encode(), "1 to 8"),
        (_member(uri="pkcs11:serial=1"), "by id or object label"),
        (_member(uri="pkcs11:id=%01"), "by label or serial"),
        (_member(uri="pkcs11:token=a;id=%01?pin-value=0000"), "PIN"),
        (b'{"keyid":"a","keyid":"b"}', "duplicate"),
    ],
)
def test_bad_reference_members_are_refused(member: bytes, problem: str) -> None:
    with pytest.raises(KeyFormatError, match=problem):
        parse_reference(member)


def _token_archive() -> tuple[KeysArchive, object]:
    factory = make_factory(KEY)
    files = {n: c for n, c in factory.archive.files.items() if not n.endswith(".sec")}
    files[BASE + ".pub"] = public_key_file(KEY.public_key)
    files[BASE + ".p11"] = TokenRef(KEY.keyid, "ED25519", (_uri(),)).to_member()
    return KeysArchive.from_files(files), factory


def test_archive_reads_token_references_and_signs_only_once_unlocked() -> None:
    archive, factory = _token_archive()
    meta = factory.ci[-1].meta  # type: ignore[attr-defined]
    entry = next(e for e in archive.entries if e.base == BASE)
    assert entry.private is None and entry.token is not None and entry.signer is None
    assert archive.has_private_for(KEY.public_key)
    assert archive.token_entries_for(meta, ["root", "targets"]) == [("root", entry)]
    with pytest.raises(TokenError, match="not unlocked"):
        archive.signers_for(meta, "root")
    unlocked = archive.with_bindings({BASE: KEY})  # any Signer: here the file key stands in for the token
    [(keyid, signer, base)] = unlocked.require_signers(meta, "root")
    assert (keyid, base) == (KEY.keyid, BASE)
    assert signer.sign(b"x") == KEY.sign(b"x")
    # Bindings survive archive edits but are never written.
    grown = unlocked.with_key("targets", seeded(9))
    assert grown.signers_for(meta, "root")[0][1] is KEY
    assert b"bindings" not in grown.to_bytes(mtime=0)
    assert KeysArchive.from_bytes(grown.to_bytes(mtime=0)).bindings == {}


def test_binding_a_different_key_is_refused() -> None:
    archive, _ = _token_archive()
    with pytest.raises(TarballError, match="not the key of"):
        archive.with_bindings({BASE: seeded(8)})


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda f: f.pop(BASE + ".pub"), "has no matching"),
        (lambda f: f.__setitem__(BASE + ".sec", secret_key_file(KEY)), "both a .sec and a .p11"),
        (
            lambda f: f.__setitem__(BASE + ".p11", TokenRef(seeded(8).keyid, "ED25519", (_uri(),)).to_member()),
            "names key",
        ),
        (lambda f: f.__setitem__(BASE + ".p11", TokenRef(KEY.keyid, "RSA", (_uri(),)).to_member()), "names key"),
        (lambda f: f.__setitem__(BASE + ".p11", b"{}"), "exactly one of|keyid"),
    ],
)
def test_inconsistent_token_members_are_refused(change: object, problem: str) -> None:
    archive, _ = _token_archive()
    files = dict(archive.files)
    change(files)  # type: ignore[operator]
    with pytest.raises(TarballError, match=problem):
        KeysArchive.from_files(files)


def test_with_token_reference_replaces_the_secret() -> None:
    archive = make_factory(KEY).archive
    base = "tufrepo/keys/first-root"
    moved = archive.with_token_reference(base, TokenRef(KEY.keyid, "ED25519", (_uri(),)))
    assert base + ".sec" not in moved.files and base + ".p11" in moved.files
    assert moved.private_members() == [base + ".p11"]
    again = KeysArchive.from_bytes(moved.to_bytes(mtime=0))
    assert again.files == moved.files
    with pytest.raises(TarballError):
        archive.with_token_reference("tufrepo/keys/nothing", TokenRef(KEY.keyid, "ED25519", (_uri(),)))


def test_private_key_is_a_signer() -> None:
    signer: object = PrivateKey.from_ed25519_seed(b"\x01" * 32)
    assert hasattr(signer, "public_key") and hasattr(signer, "sign")
