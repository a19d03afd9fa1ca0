"""Foundries TUF keys: key types, public keys, key ids, signature entries, ``.pub`` files and the Signer seam.

Private keys, ``.sec`` files and key generation are in privatekeys.py.

Facts this module encodes (see bundle-spec.md, "Foundries format"):
- keytype is ``ED25519`` or ``RSA`` (compared case-insensitively, as aktualizr does).
- ED25519 ``keyval.public`` is the 32-byte key in hex; RSA is a PEM ``PUBLIC KEY``
  (SubjectPublicKeyInfo), which is the only form aktualizr's PEM_read_bio_RSA_PUBKEY reads.
- key id = lowercase hex sha256 of the public key's DER SubjectPublicKeyInfo, the rule
  of ota-tuf that fioctl follows (not the TUF-spec canonical-JSON rule).
- signature ``method`` is ``ed25519`` or ``rsassa-pss-sha256`` (aktualizr also accepts
  ``rsassa-pss``); RSA-PSS uses SHA-256, MGF1-SHA-256 and a 32-byte salt when fioctl
  signs, while devices recover the salt length when verifying.
- key files (``tufrepo/keys/*.pub|*.sec``) are compact JSON
  ``{"keytype":..,"keyval":{"public":..}}`` / ``{"keytype":..,"keyval":{"private":..}}``;
  an ED25519 private value is read as the hex 32-byte seed (64 hex digits, fioctl since
  a092df9, Nov 2022) or seed+public (128 hex digits) and written as seed+public, the one
  form every fioctl version reads (before a092df9 ParseKey took only 64 bytes); RSA is
  PEM ``RSA PRIVATE KEY`` (PKCS#1, the only form fioctl's ParseKey parses).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

from .errors import InputFormatError, KeyFormatError
from .strictjson import JsonObject, dumps_compact, loads_object

if TYPE_CHECKING:
    import nacl.signing
    from cryptography.hazmat.primitives.asymmetric import ed25519 as c_ed25519
    from cryptography.hazmat.primitives.asymmetric import rsa

# Imports of PyNaCl and pyca/cryptography are deferred to first use: listing a tarball
# needs neither library's signing code, and each costs tens of milliseconds at start-up.
#
# ED25519 signatures are deterministic (RFC 8032), so both libraries produce the same
# bytes; which one runs is a matter of speed only.  PyNaCl (libsodium) is faster on
# small messages (roots), pyca/cryptography (OpenSSL) on large ones (a 4 MB targets.json:
# 2-3x).  Crossovers measured by scripts/bench/ed25519_crossover.py.
ED25519_SIGN_CROSSOVER = 16 * 1024
ED25519_VERIFY_CROSSOVER = 64 * 1024

ED25519 = "ED25519"
RSA = "RSA"
KEYTYPES = (ED25519, RSA)
SIGNING_METHOD = {ED25519: "ed25519", RSA: "rsassa-pss-sha256"}
ACCEPTED_METHODS = {ED25519: frozenset({"ed25519"}), RSA: frozenset({"rsassa-pss-sha256", "rsassa-pss"})}
RSA_MIN_BITS = 2048
RSA_DEFAULT_BITS = 4096
RSA_PSS_SIGN_SALT = 32
_ED25519_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")
MAX_KEY_FILE_BYTES = 64 * 1024


def normalize_keytype(value: object) -> str:
    if not isinstance(value, str) or value.upper() not in KEYTYPES:
        raise KeyFormatError(f"unsupported keytype {value!r}; expected ED25519 or RSA")
    return value.upper()


_HEX = frozenset("0123456789abcdefABCDEF")


def strict_hex(value: str) -> bytes | None:
    """Decode hex exactly as Go's hex.DecodeString and boost::unhex accept it: no whitespace."""
    if len(value) % 2 or not set(value) <= _HEX:
        return None
    return bytes.fromhex(value)


def _rsa_public_from_pem(pem: str) -> rsa.RSAPublicKey:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    body = pem.strip()
    # Exactly one block: with several, pyca/cryptography takes the first and OpenSSL on the
    # device the first "PUBLIC KEY" one, so the two could see different keys.
    if (
        not body.startswith("-----BEGIN PUBLIC KEY-----")
        or not body.endswith("-----END PUBLIC KEY-----")
        or body.count("-----BEGIN") != 1
    ):
        raise KeyFormatError("RSA public key must be a single PEM 'PUBLIC KEY' (SubjectPublicKeyInfo) block")
    try:
        key = serialization.load_pem_public_key(body.encode("ascii") + b"\n")
    except (ValueError, UnicodeEncodeError, UnsupportedAlgorithm) as exc:
        raise KeyFormatError(f"RSA public key PEM does not parse: {exc}") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise KeyFormatError("PEM public key is not an RSA key")
    if key.key_size < RSA_MIN_BITS:
        raise KeyFormatError(f"RSA key has {key.key_size} bits; at least {RSA_MIN_BITS} are required")
    return key


@dataclass(frozen=True)
class PublicKey:
    """A public key as it appears in root.json (``keytype`` and ``keyval.public`` kept verbatim)."""

    keytype: str
    public: str
    spki_der: bytes = field(repr=False, compare=False)
    extra: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    keyval_extra: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def kind(self) -> str:
        """ED25519 or RSA, whatever case the metadata used."""
        return self.keytype.upper()

    @cached_property
    def keyid(self) -> str:
        return hashlib.sha256(self.spki_der).hexdigest()

    @property
    def bits(self) -> int:
        if self.kind == ED25519:
            return 256
        return self._rsa_key.key_size

    @cached_property
    def _rsa_key(self) -> rsa.RSAPublicKey:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = serialization.load_der_public_key(self.spki_der)
        assert isinstance(key, rsa.RSAPublicKey)
        return key

    @cached_property
    def _nacl_key(self) -> nacl.signing.VerifyKey:
        import nacl.signing

        return nacl.signing.VerifyKey(self.raw_ed25519())

    @cached_property
    def _openssl_key(self) -> c_ed25519.Ed25519PublicKey:
        from cryptography.hazmat.primitives.asymmetric import ed25519 as c_ed25519

        return c_ed25519.Ed25519PublicKey.from_public_bytes(self.raw_ed25519())

    def same_key(self, other: PublicKey) -> bool:
        return self.spki_der == other.spki_der

    @classmethod
    def from_parts(cls, keytype: object, public: object) -> PublicKey:
        kind = normalize_keytype(keytype)
        if not isinstance(public, str):
            raise KeyFormatError("keyval.public must be a string")
        assert isinstance(keytype, str)
        if kind == ED25519:
            raw = strict_hex(public)
            if raw is None or len(raw) != 32:
                raise KeyFormatError("ED25519 public key must be 64 hex digits")
            return cls(keytype, public, _ED25519_SPKI_PREFIX + raw)
        from cryptography.hazmat.primitives import serialization

        key = _rsa_public_from_pem(public)
        der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return cls(keytype, public, der)

    @classmethod
    def from_dict(cls, data: object) -> PublicKey:
        if not isinstance(data, Mapping):
            raise KeyFormatError("key must be a JSON object")
        keyval = data.get("keyval")
        if not isinstance(keyval, Mapping) or "public" not in keyval:
            raise KeyFormatError("key has no keyval.public")
        if "private" in keyval:
            raise KeyFormatError("a public key entry carries private key material")
        base = cls.from_parts(data.get("keytype"), keyval["public"])
        extra = {k: v for k, v in data.items() if k not in ("keytype", "keyval")}
        keyval_extra = {k: v for k, v in keyval.items() if k != "public"}
        return cls(base.keytype, base.public, base.spki_der, extra, keyval_extra)

    def to_dict(self) -> JsonObject:
        out: JsonObject = dict(self.extra)
        out["keytype"] = self.keytype
        out["keyval"] = {**self.keyval_extra, "public": self.public}
        return out

    def raw_ed25519(self) -> bytes:
        return self.spki_der[len(_ED25519_SPKI_PREFIX) :]

    def verify(self, method: str, signature: bytes, payload: bytes) -> bool:
        """True when ``signature`` by this key over ``payload`` is valid under ``method``."""
        if method.lower() not in ACCEPTED_METHODS[self.kind]:
            return False
        if self.kind == ED25519:
            if len(payload) >= ED25519_VERIFY_CROSSOVER:
                return _openssl_ed25519_verify(self._openssl_key, signature, payload)
            import nacl.exceptions

            try:
                self._nacl_key.verify(payload, signature)
            except (nacl.exceptions.BadSignatureError, ValueError):
                return False
            return True
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        try:
            self._rsa_key.verify(
                signature,
                payload,
                padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO),
                hashes.SHA256(),
            )
        except InvalidSignature:
            return False
        return True


def _openssl_ed25519_verify(key: c_ed25519.Ed25519PublicKey, signature: bytes, payload: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature

    try:
        key.verify(signature, payload)
    except InvalidSignature:
        return False
    return True


def public_key_file(key: PublicKey) -> bytes:
    """The ``.pub`` file bytes fioctl writes (Go json.Marshal of its AtsKey)."""
    return dumps_compact({"keytype": key.kind, "keyval": {"public": key.public}})


def parse_public_key_file(data: bytes, *, what: str = "public key file") -> PublicKey:
    try:
        obj = loads_object(data, max_bytes=MAX_KEY_FILE_BYTES, what=what)
    except InputFormatError as exc:
        raise KeyFormatError(exc.message) from exc
    try:
        return PublicKey.from_dict(obj)
    except KeyFormatError as exc:
        raise KeyFormatError(f"{what}: {exc.message}") from exc


@dataclass(frozen=True)
class SignatureEntry:
    """One element of a ``signatures`` list; ``sig`` holds the decoded bytes."""

    keyid: str
    method: str
    sig: bytes = field(repr=False)
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_dict(cls, data: object) -> SignatureEntry:
        from .errors import MetadataError

        if not isinstance(data, Mapping):
            raise MetadataError("signature entry must be an object")
        keyid, method, sig = data.get("keyid"), data.get("method"), data.get("sig")
        if not isinstance(keyid, str) or not isinstance(method, str) or not isinstance(sig, str):
            raise MetadataError("signature entry needs string keyid, method and sig")
        try:
            raw = base64.b64decode(sig, validate=True)
        except (binascii.Error, ValueError):
            raise MetadataError(f"signature by {keyid[:16]} is not valid base64") from None
        extra = {k: v for k, v in data.items() if k not in ("keyid", "method", "sig")}
        return cls(keyid, method, raw, extra)

    def to_dict(self) -> JsonObject:
        out: JsonObject = dict(self.extra)
        out.update({"keyid": self.keyid, "method": self.method, "sig": base64.b64encode(self.sig).decode()})
        return out


class Signer(Protocol):
    """Anything that can produce a Foundries signature (a key in memory, later an HSM)."""

    @property
    def public_key(self) -> PublicKey: ...

    def sign(self, payload: bytes) -> SignatureEntry: ...


def cross_check_ed25519(key: PublicKey, payload: bytes, signature: bytes) -> bool:
    """Verify with pyca/cryptography instead of PyNaCl (used to cross-check implementations)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric import ed25519 as c_ed25519

    try:
        c_ed25519.Ed25519PublicKey.from_public_bytes(key.raw_ed25519()).verify(signature, payload)
    except InvalidSignature:
        return False
    return True
