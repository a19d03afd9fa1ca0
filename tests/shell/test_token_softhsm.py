"""Signing through PKCS#11 against a real SoftHSM2: the signatures file keys make, and clear errors."""

from __future__ import annotations

import os
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from appliance.core.errors import TokenError, TokenLockedError, TokenMissingError, TokenPinError
from appliance.core.keys import cross_check_ed25519
from appliance.core.privatekeys import PrivateKey
from appliance.core.tokenref import TokenRef
from appliance.shell import token as tk
from appliance.shell.pin import PinSource
from online.softhsm import SoftHsm
from tests.helpers_ceremony import seeded
from tests.helpers_token import write_pins

pytestmark = [pytest.mark.softhsm, pytest.mark.usefixtures("sessions_closed")]
PAYLOAD = b'{"signed":{"_type":"Root","version":2}}'


def _rsa_key() -> PrivateKey:
    return PrivateKey.from_rsa(rsa.generate_private_key(public_exponent=65537, key_size=2048))


def _import(hsm: SoftHsm, label: str, key: PrivateKey, oid: bytes) -> tk.TokenSigner:
    info = tk.find_token(tk.load(hsm.module), label=label, serial=None)
    session = tk.login(info, hsm.pin, rw=True)
    tk.import_key(session, key, label=f"k-{oid.hex()}", object_id=oid)
    uri = tk.token_uri(info, label=f"k-{oid.hex()}", object_id=oid, module=None)
    return tk.TokenSigner(key.public_key, tk.find_private(session, uri, info), info)


def test_softhsm_offers_the_mechanisms(softhsm: SoftHsm) -> None:
    """Debian bookworm's SoftHSM 2.6.1 (built with OpenSSL 3) has CKM_EDDSA and RSA-PSS."""
    import pkcs11

    info = tk.find_token(tk.load(softhsm.module), label="tuf-a", serial=None)
    mechanisms = info.handle.slot.get_mechanisms()
    assert {
        pkcs11.Mechanism.EDDSA,
        pkcs11.Mechanism.SHA256_RSA_PKCS_PSS,
        pkcs11.Mechanism.EC_EDWARDS_KEY_PAIR_GEN,
    } <= mechanisms


def test_ed25519_on_token_signs_exactly_as_the_file_key(softhsm: SoftHsm) -> None:
    key = seeded(41)
    signer = _import(softhsm, "tuf-a", key, b"\x41")
    on_token, in_file = signer.sign(PAYLOAD), key.sign(PAYLOAD)
    assert on_token == in_file  # Ed25519 is deterministic: same bytes, same method, same key id
    assert on_token.to_dict() == in_file.to_dict() and on_token.method == "ed25519"
    assert cross_check_ed25519(key.public_key, PAYLOAD, on_token.sig)
    ed25519.Ed25519PublicKey.from_public_bytes(key.public_key.raw_ed25519()).verify(on_token.sig, PAYLOAD)


def test_rsa_pss_on_token_is_sha256_mgf1_salt_32(softhsm: SoftHsm) -> None:
    key = _rsa_key()
    signer = _import(softhsm, "tuf-rsa", key, b"\x42")
    entry = signer.sign(PAYLOAD)
    assert entry.method == "rsassa-pss-sha256" and entry.keyid == key.keyid
    assert key.public_key.verify(entry.method, entry.sig, PAYLOAD)
    public = serialization.load_der_public_key(key.public_key.spki_der)
    assert isinstance(public, rsa.RSAPublicKey)
    # Exactly salt 32 (a verifier pinned to 32 accepts it, one pinned to 20 refuses).
    public.verify(entry.sig, PAYLOAD, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())
    with pytest.raises(Exception):  # noqa: B017
        public.verify(
            entry.sig, PAYLOAD, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=20), hashes.SHA256()
        )


def test_generated_key_is_sensitive_and_never_extractable(softhsm: SoftHsm) -> None:
    import pkcs11

    info = tk.find_token(tk.load(softhsm.module), label="tuf-gen", serial=None)
    session = tk.login(info, softhsm.pin, rw=True)
    public = tk.generate(session, "ED25519", label="gen-ed", object_id=b"\x51", rsa_bits=2048)
    uri = tk.token_uri(info, label="gen-ed", object_id=b"\x51", module=None)
    private = tk.find_private(session, uri, info)
    assert private[pkcs11.Attribute.SENSITIVE] and not private[pkcs11.Attribute.EXTRACTABLE]
    with pytest.raises(pkcs11.exceptions.AttributeSensitive):
        private[pkcs11.Attribute.VALUE]
    entry = tk.TokenSigner(public, private, info).sign(PAYLOAD)
    assert cross_check_ed25519(public, PAYLOAD, entry.sig)
    rsa_public = tk.generate(session, "RSA", label="gen-rsa", object_id=b"\x52", rsa_bits=2048)
    assert rsa_public.kind == "RSA" and rsa_public.bits == 2048


def test_unlock_by_reference_and_the_three_failures(softhsm: SoftHsm) -> None:
    key = seeded(43)
    _import(softhsm, "tuf-b", key, b"\x43")
    tk.close_sessions()
    info = tk.find_token(tk.load(softhsm.module), label="tuf-b", serial=None)
    uri = tk.token_uri(info, label="k-43", object_id=b"\x43", module=None)
    ref = TokenRef(key.keyid, "ED25519", (uri,))

    with pytest.raises(TokenPinError, match="refused the PIN"):
        tk.unlock(ref, key.public_key, lambda _t: "000000")
    signer = tk.unlock(ref, key.public_key, PinSource(write_pins(softhsm.pin)))
    assert signer.sign(PAYLOAD) == key.sign(PAYLOAD)
    tk.close_sessions()

    from appliance.core.tokenref import key_uri

    missing = TokenRef(
        key.keyid, "ED25519", (key_uri(token="not-here", serial="1", object_label="k", object_id=b"\x01"),)
    )
    with pytest.raises(TokenMissingError, match="none is present"):
        tk.unlock(missing, key.public_key, lambda _t: softhsm.pin)
    wrong_key = TokenRef(seeded(44).keyid, "ED25519", (uri,))
    with pytest.raises(TokenError, match="does not verify"):  # the token's key is not the tarball's key
        tk.unlock(wrong_key, seeded(44).public_key, lambda _t: softhsm.pin)
    tk.close_sessions()
    no_object = TokenRef(key.keyid, "ED25519", (tk.token_uri(info, label="nope", object_id=b"\x99", module=None),))
    with pytest.raises(TokenMissingError, match="holds no private key"):
        tk.unlock(no_object, key.public_key, lambda _t: softhsm.pin)


class _Handle:
    def __init__(self, error: Any) -> None:
        self.error = error

    def open(self, **_: Any) -> None:
        raise self.error


@pytest.mark.parametrize(
    ("error_name", "expected"),
    [
        ("PinIncorrect", TokenPinError),
        ("PinLenRange", TokenPinError),
        ("PinLocked", TokenLockedError),
        ("PinExpired", TokenLockedError),
        ("TokenNotPresent", TokenMissingError),
        ("DeviceRemoved", TokenMissingError),
        ("GeneralError", TokenError),
    ],
)
def test_login_errors_map_to_token_errors(softhsm: SoftHsm, error_name: str, expected: type) -> None:
    """SoftHSM2 never locks its user PIN, so a locked token is the library's error, injected."""
    import pkcs11

    info = tk.TokenInfo("t", "1", "m", "x", tk.CKF_TOKEN_INITIALIZED, _Handle(getattr(pkcs11.exceptions, error_name)()))
    with pytest.raises(expected) as caught:
        tk.login(info, "1234")
    assert type(caught.value) is expected and caught.value.exit_code == 11


def test_locked_flag_is_refused_before_trying(softhsm: SoftHsm) -> None:
    info = tk.TokenInfo(
        "t", "1", "m", "x", tk.CKF_TOKEN_INITIALIZED | tk.CKF_USER_PIN_LOCKED, _Handle(AssertionError())
    )
    with pytest.raises(TokenLockedError, match="locked"):
        tk.login(info, "1234")


def test_pin_source_refuses_a_missing_terminal_and_low_descriptors(softhsm: SoftHsm) -> None:
    from appliance.core.errors import UsageError

    info = tk.TokenInfo("t", "1", "m", "x", 0)
    with pytest.raises(UsageError):
        PinSource(0)
    empty = write_pins()
    with pytest.raises(TokenError, match="no PIN"):
        PinSource(empty)(info)
    os.close(empty)


def test_hardware_text_is_shown_literally() -> None:
    assert tk.show("a\u202eb\x1b[2J") == "a\\u202eb\\u001b[2J"
