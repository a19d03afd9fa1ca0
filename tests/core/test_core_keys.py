"""Foundries keys: key ids, fioctl key files, refusals, signatures (ED25519 and RSA-PSS)."""

from __future__ import annotations

import hashlib
import json

import nacl.signing
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.core.errors import KeyFormatError
from appliance.core.keys import PublicKey, SignatureEntry, cross_check_ed25519, parse_public_key_file, public_key_file
from appliance.core.privatekeys import PrivateKey, generate_key, parse_secret_key_file, secret_key_file
from tests.helpers_core import VECTORS, ed_key, load_vectors, rsa_test_key

VEC = load_vectors()
ED_VECTORS = VEC["ed25519"] + VEC["rfc8032"]


def spki_keyid(public_key: ed25519.Ed25519PublicKey | rsa.RSAPublicKey) -> str:
    """The key id computed independently: sha256 of DER SubjectPublicKeyInfo."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


@pytest.fixture(scope="module")
def rsa_key() -> PrivateKey:
    return rsa_test_key()


@pytest.fixture(scope="module")
def rsa1024() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=1024)


def c_rsa(key: PrivateKey) -> rsa.RSAPublicKey:
    loaded = serialization.load_pem_public_key(key.public_key.public.encode())
    assert isinstance(loaded, rsa.RSAPublicKey)
    return loaded


def c_rsa_private(key: PrivateKey) -> rsa.RSAPrivateKey:
    loaded = serialization.load_pem_private_key(key.private_value().encode(), password=None)
    assert isinstance(loaded, rsa.RSAPrivateKey)
    return loaded


# --- key ids -----------------------------------------------------------------


@pytest.mark.parametrize("vec", ED_VECTORS, ids=lambda v: v["seed"][:8])
def test_ed25519_seed_to_public_to_keyid(vec: dict[str, str]) -> None:
    key = PrivateKey.from_ed25519_seed(bytes.fromhex(vec["seed"]))
    assert key.public_key.public == vec["public"]
    assert key.keyid == vec["keyid"]
    c_pub = ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(vec["seed"])).public_key()
    assert key.keyid == spki_keyid(c_pub)
    assert PublicKey.from_parts("ED25519", vec["public"]).keyid == vec["keyid"]


def test_ed25519_spki_is_prefix_plus_raw_key() -> None:
    key = ed_key(1)
    c_pub = ed25519.Ed25519PrivateKey.from_private_bytes(bytes([1]) * 32).public_key()
    der = c_pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert key.public_key.spki_der == der == bytes.fromhex("302a300506032b6570032100") + key.public_key.raw_ed25519()


@pytest.mark.parametrize("vec", VEC["rfc8032"], ids=lambda v: v["seed"][:8])
def test_rfc8032_signatures(vec: dict[str, str]) -> None:
    key = PrivateKey.from_ed25519_seed(bytes.fromhex(vec["seed"]))
    entry = key.sign(bytes.fromhex(vec["message"]))
    assert entry.sig.hex() == vec["signature"]
    assert entry.method == "ed25519"
    assert entry.keyid == vec["keyid"]


def test_rsa_keyid_pinned_and_independent(rsa_key: PrivateKey) -> None:
    assert rsa_key.keyid == VEC["rsa2048"]["keyid"]
    assert rsa_key.keyid == spki_keyid(c_rsa(rsa_key))
    assert rsa_key.public_key.bits == 2048
    assert rsa_key.kind == "RSA"


def test_rsa_keyid_ignores_pem_line_wrapping(rsa_key: PrivateKey) -> None:
    """The key id hashes the DER, so re-wrapping the PEM base64 keeps the id."""
    lines = rsa_key.public_key.public.strip().splitlines()
    rewrapped = "\n".join([lines[0], "".join(lines[1:-1]), lines[-1]]) + "\n"
    assert PublicKey.from_parts("RSA", rewrapped).keyid == rsa_key.keyid


# --- key files ---------------------------------------------------------------


def test_ed25519_key_files_exact_bytes() -> None:
    vec = VEC["ed25519"][0]
    key = PrivateKey.from_ed25519_seed(bytes.fromhex(vec["seed"]))
    assert public_key_file(key.public_key) == (
        b'{"keytype":"ED25519","keyval":{"public":"' + vec["public"].encode() + b'"}}'
    )
    # Go's ed25519.PrivateKey: seed followed by the public key, the form every fioctl reads.
    expected_private = vec["seed"] + vec["public"]
    assert secret_key_file(key) == b'{"keytype":"ED25519","keyval":{"private":"' + expected_private.encode() + b'"}}'
    assert len(key.private_value()) == 128


def test_rsa_key_files_exact_bytes(rsa_key: PrivateKey) -> None:
    pub_file = (VECTORS / "rsa2048-test.pub").read_bytes()
    sec_file = (VECTORS / "rsa2048-test.sec").read_bytes()
    assert public_key_file(rsa_key.public_key) == pub_file
    assert secret_key_file(rsa_key) == sec_file
    pub = json.loads(pub_file)
    assert list(pub) == ["keytype", "keyval"]
    assert pub["keyval"]["public"].startswith("-----BEGIN PUBLIC KEY-----\n")
    assert pub["keyval"]["public"].endswith("-----END PUBLIC KEY-----\n")
    assert all(len(line) <= 64 for line in pub["keyval"]["public"].splitlines())
    private = json.loads(sec_file)["keyval"]["private"]
    assert private.startswith("-----BEGIN RSA PRIVATE KEY-----\n")
    assert private.endswith("-----END RSA PRIVATE KEY-----\n")


def test_key_files_round_trip(rsa_key: PrivateKey) -> None:
    for key in (ed_key(1), rsa_key):
        assert parse_public_key_file(public_key_file(key.public_key)) == key.public_key
        again = parse_secret_key_file(secret_key_file(key))
        assert again.public_key.same_key(key.public_key)
        assert secret_key_file(again) == secret_key_file(key)


def test_seed_form_is_read_and_seed_plus_public_form_written() -> None:
    key = ed_key(2)
    seed_only = bytes(32 * [2]).hex()
    loaded = PrivateKey.from_parts("ED25519", seed_only)
    assert loaded.keyid == key.keyid
    assert loaded.private_value() == seed_only + key.public_key.public
    assert PrivateKey.from_parts("ED25519", loaded.private_value()).keyid == key.keyid


def test_seed_plus_public_form_with_mismatched_public_half_is_refused() -> None:
    # fioctl would sign with it and every signature would fail on devices: refused here.
    old = bytes(32 * [2]).hex() + ed_key(3).public_key.public
    with pytest.raises(KeyFormatError, match="public half does not match"):
        PrivateKey.from_parts("ED25519", old)


def test_keytype_case_is_kept_and_compared_case_insensitively() -> None:
    pub = ed_key(1).public_key.public
    key = PublicKey.from_parts("ed25519", pub)
    assert key.keytype == "ed25519" and key.kind == "ED25519"
    assert key.to_dict()["keytype"] == "ed25519"
    assert public_key_file(key).startswith(b'{"keytype":"ED25519"')
    assert key.keyid == ed_key(1).keyid


def test_upper_case_hex_reads_as_the_same_key_and_is_kept_verbatim() -> None:
    upper = ed_key(1).public_key.public.upper()
    key = PublicKey.from_parts("ED25519", upper)
    assert key.public == upper
    assert key.keyid == ed_key(1).keyid


# --- refusals ----------------------------------------------------------------

SEED_HEX = "01" * 32
PUB_HEX = ed_key(1).public_key.public


@pytest.mark.parametrize(
    ("keytype", "public", "fragment"),
    [
        ("ECDSA", PUB_HEX, "unsupported keytype 'ECDSA'"),
        ("ecdsa-sha2-nistp256", PUB_HEX, "unsupported keytype"),
        (None, PUB_HEX, "unsupported keytype None"),
        (1, PUB_HEX, "unsupported keytype 1"),
        ("ED25519", PUB_HEX[:-2], "64 hex digits"),
        ("ED25519", PUB_HEX + "00", "64 hex digits"),
        ("ED25519", PUB_HEX[:-1], "64 hex digits"),
        ("ED25519", PUB_HEX.upper()[:-1], "64 hex digits"),
        ("ED25519", " " + PUB_HEX[1:], "64 hex digits"),
        ("ED25519", PUB_HEX[:32] + " " + PUB_HEX[32:-1], "64 hex digits"),
        ("ED25519", PUB_HEX[:-1] + "\n", "64 hex digits"),
        ("ED25519", PUB_HEX[:-1] + "g", "64 hex digits"),
        ("ED25519", "0x" + PUB_HEX[2:], "64 hex digits"),
        ("ED25519", 12, "must be a string"),
        ("RSA", PUB_HEX, "single PEM 'PUBLIC KEY'"),
        ("RSA", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "does not parse"),
    ],
)
def test_public_key_refusals(keytype: object, public: object, fragment: str) -> None:
    with pytest.raises(KeyFormatError, match=fragment.replace("(", r"\(")):
        PublicKey.from_parts(keytype, public)


def test_rsa_public_pkcs1_form_is_refused(rsa_key: PrivateKey) -> None:
    pkcs1 = c_rsa(rsa_key).public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1).decode()
    assert pkcs1.startswith("-----BEGIN RSA PUBLIC KEY-----")
    with pytest.raises(KeyFormatError, match="single PEM 'PUBLIC KEY'"):
        PublicKey.from_parts("RSA", pkcs1)


def test_rsa_public_with_two_pem_blocks_is_refused(rsa_key: PrivateKey) -> None:
    """Devices read the first PUBLIC KEY block; a PKCS#1 block before it must not be what we hash."""
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pkcs1 = other.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1).decode()
    for text in (pkcs1 + rsa_key.public_key.public, rsa_key.public_key.public + rsa_key.public_key.public):
        with pytest.raises(KeyFormatError, match="single PEM"):
            PublicKey.from_parts("RSA", text)


def test_rsa_smaller_than_2048_is_refused_everywhere(rsa1024: rsa.RSAPrivateKey) -> None:
    pem = rsa1024.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(KeyFormatError, match="1024 bits; at least 2048"):
        PublicKey.from_parts("RSA", pem.decode())
    with pytest.raises(KeyFormatError, match="1024 bits"):
        PrivateKey.from_rsa(rsa1024)
    sec = rsa1024.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    with pytest.raises(KeyFormatError, match="1024 bits"):
        PrivateKey.from_parts("RSA", sec.decode())
    with pytest.raises(KeyFormatError, match="at least 2048"):
        generate_key("RSA", lambda n: b"\0" * n, rsa_bits=1024)


def test_non_rsa_pem_under_rsa_keytype_is_refused() -> None:
    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(KeyFormatError, match="not an RSA key"):
        PublicKey.from_parts("RSA", pem.decode())


def test_unknown_algorithm_in_spki_is_a_key_format_error() -> None:
    """pyca/cryptography raises UnsupportedAlgorithm (not ValueError) for an unknown OID."""
    import base64

    oid = bytes.fromhex("06032a0304")  # 1.2.3.4
    alg = b"\x30" + bytes([len(oid)]) + oid
    bits = b"\x03\x03\x00\x01\x02"
    spki = b"\x30" + bytes([len(alg) + len(bits)]) + alg + bits
    pem = "-----BEGIN PUBLIC KEY-----\n" + base64.b64encode(spki).decode() + "\n-----END PUBLIC KEY-----\n"
    with pytest.raises(KeyFormatError, match="does not parse"):
        PublicKey.from_parts("RSA", pem)


@pytest.mark.parametrize(
    ("keytype", "private", "fragment"),
    [
        ("ECDSA", SEED_HEX, "unsupported keytype"),
        ("ED25519", SEED_HEX[:-1], "64 or 128 hex digits"),
        ("ED25519", SEED_HEX[:-2], "64 or 128 hex digits"),
        ("ED25519", SEED_HEX + "00", "64 or 128 hex digits"),
        ("ED25519", " " + SEED_HEX[1:], "64 or 128 hex digits"),
        ("ED25519", SEED_HEX.upper()[:-1], "64 or 128 hex digits"),
        ("ED25519", 5, "must be a string"),
        ("RSA", SEED_HEX, "must be PEM"),
        ("RSA", "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n", "does not parse"),
    ],
)
def test_private_key_refusals(keytype: object, private: object, fragment: str) -> None:
    with pytest.raises(KeyFormatError, match=fragment) as info:
        PrivateKey.from_parts(keytype, private)
    if isinstance(private, str) and len(private) > 8:
        assert private.strip()[:16] not in info.value.message


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "not valid JSON"),
        (b"[]", "must be a JSON object"),
        (b'{"keytype":"ED25519"}', "no keyval.public"),
        (b'{"keytype":"ED25519","keyval":{"public":1}}', "must be a string"),
        (b'{"keytype":"ED25519","keyval":"x"}', "no keyval.public"),
        (b'{"keytype":"ED25519","keytype":"RSA","keyval":{"public":"00"}}', "duplicate key"),
        (
            b'{"keytype":"ED25519","keyval":{"public":"'
            + PUB_HEX.encode()
            + b'","private":"'
            + SEED_HEX.encode()
            + b'"}}',
            "carries private key material",
        ),
        (b"\xef\xbb\xbf{}", "byte order mark"),
        (b" " * (64 * 1024 + 1), "more than the 65536 allowed"),
    ],
)
def test_public_key_file_refusals(data: bytes, fragment: str) -> None:
    with pytest.raises(KeyFormatError, match=fragment):
        parse_public_key_file(data)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"{", "not valid JSON"),
        (b'{"keytype":"ED25519","keyval":{"public":"' + PUB_HEX.encode() + b'"}}', "no keyval.private"),
        (b'{"keytype":"ECDSA","keyval":{"private":"' + SEED_HEX.encode() + b'"}}', "unsupported keytype"),
        (b'{"keytype":"ED25519","keyval":{"private":1.5}}', "floating point"),
    ],
)
def test_secret_key_file_refusals(data: bytes, fragment: str) -> None:
    with pytest.raises(KeyFormatError, match=fragment):
        parse_secret_key_file(data)


@given(st.binary(max_size=300))
@settings(max_examples=300, deadline=None)
def test_key_file_parsers_only_raise_key_format_errors(data: bytes) -> None:
    for parse in (parse_public_key_file, parse_secret_key_file):
        try:
            parse(data)
        except KeyFormatError:
            pass


# --- ED25519 signatures --------------------------------------------------------


@given(payload=st.binary(max_size=200), seed=st.binary(min_size=32, max_size=32))
@settings(max_examples=50, deadline=None)
def test_ed25519_signatures_cross_check_between_pynacl_and_cryptography(payload: bytes, seed: bytes) -> None:
    ours = PrivateKey.from_ed25519_seed(seed)
    c_key = ed25519.Ed25519PrivateKey.from_private_bytes(seed)
    # ours (PyNaCl) -> cryptography
    entry = ours.sign(payload)
    c_key.public_key().verify(entry.sig, payload)
    assert cross_check_ed25519(ours.public_key, payload, entry.sig)
    # cryptography -> ours (PyNaCl)
    c_sig = c_key.sign(payload)
    assert ours.public_key.verify("ed25519", c_sig, payload)
    assert c_sig == entry.sig  # ED25519 is deterministic
    # tampered payload fails both ways
    assert not ours.public_key.verify("ed25519", c_sig, payload + b"x")
    assert not cross_check_ed25519(ours.public_key, payload + b"x", entry.sig)


def test_ed25519_verify_refuses_wrong_key_and_malformed_signature() -> None:
    entry = ed_key(1).sign(b"payload")
    assert not ed_key(2).public_key.verify("ed25519", entry.sig, b"payload")
    assert not ed_key(1).public_key.verify("ed25519", entry.sig[:-1], b"payload")
    assert not ed_key(1).public_key.verify("ed25519", b"", b"payload")
    assert nacl.signing.VerifyKey(ed_key(1).public_key.raw_ed25519()).verify(b"payload", entry.sig) == b"payload"


# --- RSA-PSS ---------------------------------------------------------------------

PSS_MAX = padding.PSS.MAX_LENGTH


def test_rsa_signature_uses_salt_32(rsa_key: PrivateKey) -> None:
    entry = rsa_key.sign(b"payload")
    assert entry.method == "rsassa-pss-sha256"
    pub = c_rsa(rsa_key)
    pub.verify(entry.sig, b"payload", padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())
    for other in (0, 20, 64):
        with pytest.raises(InvalidSignature):
            pub.verify(
                entry.sig,
                b"payload",
                padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=other),
                hashes.SHA256(),
            )


@pytest.mark.parametrize("salt", [0, 20, 32, 64, PSS_MAX], ids=["0", "20", "32", "64", "max"])
def test_rsa_pss_any_salt_length_verifies(rsa_key: PrivateKey, salt: int) -> None:
    sig = c_rsa_private(rsa_key).sign(
        b"payload", padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=salt), hashes.SHA256()
    )
    assert rsa_key.public_key.verify("rsassa-pss-sha256", sig, b"payload")
    assert rsa_key.public_key.verify("rsassa-pss", sig, b"payload")
    assert not rsa_key.public_key.verify("rsassa-pss-sha256", sig, b"payload!")


@pytest.mark.parametrize(
    "make_padding",
    [
        lambda: (padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=32), hashes.SHA512()),
        lambda: (padding.PSS(mgf=padding.MGF1(hashes.SHA1()), salt_length=20), hashes.SHA1()),
        lambda: (padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=32), hashes.SHA256()),
        lambda: (padding.PKCS1v15(), hashes.SHA256()),
    ],
    ids=["pss-sha512", "pss-sha1", "pss-mgf1-sha512", "pkcs1v15"],
)
def test_rsa_wrong_hash_or_padding_fails(rsa_key: PrivateKey, make_padding) -> None:  # type: ignore[no-untyped-def]
    pad, digest = make_padding()
    sig = c_rsa_private(rsa_key).sign(b"payload", pad, digest)
    assert not rsa_key.public_key.verify("rsassa-pss-sha256", sig, b"payload")


def test_rsa_signature_by_other_key_fails(rsa_key: PrivateKey) -> None:
    other = PrivateKey.from_rsa(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    assert not rsa_key.public_key.verify("rsassa-pss-sha256", other.sign(b"payload").sig, b"payload")


# --- methods -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "method", "ok"),
    [
        ("ed", "ed25519", True),
        ("ed", "ED25519", True),
        ("ed", "rsassa-pss-sha256", False),
        ("ed", "rsassa-pss", False),
        ("ed", "eddsa", False),
        ("ed", "", False),
        ("rsa", "rsassa-pss-sha256", True),
        ("rsa", "rsassa-pss", True),
        ("rsa", "RSASSA-PSS-SHA256", True),
        ("rsa", "rsa-pss-sha256", False),
        ("rsa", "rsassa-pkcs1v15-sha256", False),
        ("rsa", "ed25519", False),
    ],
)
def test_signature_methods(rsa_key: PrivateKey, kind: str, method: str, ok: bool) -> None:
    key = ed_key(1) if kind == "ed" else rsa_key
    sig = key.sign(b"payload").sig
    assert key.public_key.verify(method, sig, b"payload") is ok


def test_methods_written() -> None:
    assert ed_key(1).sign(b"").method == "ed25519"
    assert generate_key("ED25519", lambda n: bytes([7]) * n).sign(b"").method == "ed25519"


def test_sign_with_explicit_keyid_and_entry_round_trip() -> None:
    entry = ed_key(1).sign(b"x", keyid="abc")
    assert entry.keyid == "abc"
    assert SignatureEntry.from_dict(entry.to_dict()) == entry


# --- generation and secrets --------------------------------------------------------------


def test_generate_ed25519_draws_seed_from_random_bytes() -> None:
    calls: list[int] = []

    def rnd(n: int) -> bytes:
        calls.append(n)
        return bytes([1]) * n

    assert generate_key("ed25519", rnd).keyid == VEC["ed25519"][0]["keyid"]
    assert calls == [32]


def test_secret_bytes_round_trip(rsa_key: PrivateKey) -> None:
    for key in (ed_key(3), rsa_key):
        again = PrivateKey.from_secret_bytes(key.kind, key.secret_bytes())
        assert again.keyid == key.keyid
    with pytest.raises(KeyFormatError, match="32 bytes"):
        PrivateKey.from_secret_bytes("ED25519", b"\1" * 31)
    with pytest.raises(KeyFormatError, match="PKCS#1 DER"):
        PrivateKey.from_secret_bytes("RSA", b"\x30\x03\x02\x01\x00")


def test_secret_material_is_not_in_repr_or_str(rsa_key: PrivateKey) -> None:
    ed = PrivateKey.from_ed25519_seed(bytes.fromhex(VEC["rfc8032"][0]["seed"]))
    for key in (ed, rsa_key):
        value = key.private_value()
        secrets = [key.secret_bytes().hex()[:16], (value.splitlines()[1] if key.kind == "RSA" else value)[:16]]
        for shown in (repr(key), str(key), f"{key}", repr([key]), repr(key.public_key)):
            assert key.keyid[:16] in shown or shown == repr(key.public_key)
            for secret in secrets:
                assert secret not in shown
