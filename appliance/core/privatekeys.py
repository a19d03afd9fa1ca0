"""Private keys: loaded from ``.sec`` files or paper secrets, or generated; signing.  Never printed.

Formats (bundle-spec.md, "Foundries format"): an ED25519 ``keyval.private`` is read as the hex
32-byte seed (64 hex digits, fioctl since a092df9, Nov 2022) or seed+public (128 hex digits)
and written as seed+public, the one form every fioctl version reads; RSA is PEM
``RSA PRIVATE KEY`` (PKCS#1, the only form fioctl's ParseKey parses).  Signing ED25519 uses
PyNaCl or pyca/cryptography by payload size (keys.ED25519_SIGN_CROSSOVER); RSA-PSS signs
with SHA-256, MGF1-SHA-256 and a 32-byte salt as fioctl does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from .errors import InputFormatError, KeyFormatError
from .keys import (
    ED25519,
    ED25519_SIGN_CROSSOVER,
    MAX_KEY_FILE_BYTES,
    RSA,
    RSA_DEFAULT_BITS,
    RSA_MIN_BITS,
    RSA_PSS_SIGN_SALT,
    SIGNING_METHOD,
    PublicKey,
    SignatureEntry,
    normalize_keytype,
    strict_hex,
)
from .strictjson import dumps_compact, loads_object

if TYPE_CHECKING:
    import nacl.signing
    from cryptography.hazmat.primitives.asymmetric import ed25519 as c_ed25519
    from cryptography.hazmat.primitives.asymmetric import rsa


class PrivateKey:
    """A private key loaded from a ``.sec`` file or freshly generated.  Never printed."""

    __slots__ = ("_ed", "_ed_openssl", "_rsa", "public_key")

    def __init__(
        self,
        public_key: PublicKey,
        *,
        ed: nacl.signing.SigningKey | None = None,
        rsa_key: rsa.RSAPrivateKey | None = None,
    ) -> None:
        self.public_key = public_key
        self._ed = ed
        self._ed_openssl: c_ed25519.Ed25519PrivateKey | None = None
        self._rsa = rsa_key

    def __repr__(self) -> str:
        return f"PrivateKey({self.public_key.kind}, keyid={self.public_key.keyid[:16]}…)"

    @property
    def keyid(self) -> str:
        return self.public_key.keyid

    @property
    def kind(self) -> str:
        return self.public_key.kind

    def sign(self, payload: bytes, *, keyid: str | None = None) -> SignatureEntry:
        if self._ed is not None:
            sig = self._sign_ed25519(payload)
        else:
            from cryptography.hazmat.primitives import hashes
            from cryptography.hazmat.primitives.asymmetric import padding

            assert self._rsa is not None
            sig = self._rsa.sign(
                payload,
                padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=RSA_PSS_SIGN_SALT),
                hashes.SHA256(),
            )
        return SignatureEntry(keyid or self.keyid, SIGNING_METHOD[self.kind], sig)

    def _sign_ed25519(self, payload: bytes) -> bytes:
        assert self._ed is not None
        if len(payload) < ED25519_SIGN_CROSSOVER:
            return self._ed.sign(payload).signature
        if self._ed_openssl is None:
            from cryptography.hazmat.primitives.asymmetric import ed25519 as c_ed25519

            self._ed_openssl = c_ed25519.Ed25519PrivateKey.from_private_bytes(bytes(self._ed))
        return self._ed_openssl.sign(payload)

    def private_value(self) -> str:
        """The ``keyval.private`` string every fioctl version reads.  Secret.

        ED25519: the 64-byte seed‖public in hex (Go's ``ed25519.PrivateKey``), which fioctl read
        before a092df9 (Nov 2022) as its only form and still reads; RSA: PEM PKCS#1."""
        if self._ed is not None:
            return (bytes(self._ed) + bytes(self._ed.verify_key)).hex()
        from cryptography.hazmat.primitives import serialization

        assert self._rsa is not None
        return self._rsa.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ).decode("ascii")

    def secret_bytes(self) -> bytes:
        """Compact binary form of the secret for paper backups: seed or PKCS#1 DER.  Secret."""
        if self._ed is not None:
            return bytes(self._ed)
        from cryptography.hazmat.primitives import serialization

        assert self._rsa is not None
        return self._rsa.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )

    @classmethod
    def from_ed25519_seed(cls, seed: bytes) -> PrivateKey:
        if len(seed) != 32:
            raise KeyFormatError("ED25519 seed must be 32 bytes")
        import nacl.signing

        sk = nacl.signing.SigningKey(seed)
        pub = PublicKey.from_parts(ED25519, bytes(sk.verify_key).hex())
        return cls(pub, ed=sk)

    @classmethod
    def from_rsa(cls, key: rsa.RSAPrivateKey) -> PrivateKey:
        from cryptography.hazmat.primitives import serialization

        if key.key_size < RSA_MIN_BITS:
            raise KeyFormatError(f"RSA key has {key.key_size} bits; at least {RSA_MIN_BITS} are required")
        pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        return cls(PublicKey.from_parts(RSA, pem.decode("ascii")), rsa_key=key)

    @classmethod
    def from_secret_bytes(cls, keytype: str, secret: bytes) -> PrivateKey:
        kind = normalize_keytype(keytype)
        if kind == ED25519:
            return cls.from_ed25519_seed(secret)
        from cryptography.exceptions import UnsupportedAlgorithm
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        try:
            key = serialization.load_der_private_key(secret, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            # Not chained: the cause may quote secret key bytes.
            raise KeyFormatError("RSA secret is not a PKCS#1 DER private key") from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise KeyFormatError("secret is not an RSA private key")
        return cls.from_rsa(key)

    @classmethod
    def from_parts(cls, keytype: object, private: object) -> PrivateKey:
        kind = normalize_keytype(keytype)
        if not isinstance(private, str):
            raise KeyFormatError("keyval.private must be a string")
        if kind == ED25519:
            raw = strict_hex(private)
            if raw is None or len(raw) not in (32, 64):
                raise KeyFormatError("ED25519 private key must be 64 or 128 hex digits")
            key = cls.from_ed25519_seed(raw[:32])
            if len(raw) == 64 and raw[32:] != key.public_key.raw_ed25519():
                raise KeyFormatError("ED25519 private key's public half does not match its seed")
            return key
        if "-----BEGIN RSA PRIVATE KEY-----" not in private and "-----BEGIN PRIVATE KEY-----" not in private:
            raise KeyFormatError("RSA private key must be PEM (RSA PRIVATE KEY)")
        from cryptography.exceptions import UnsupportedAlgorithm
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        try:
            loaded = serialization.load_pem_private_key(private.strip().encode("ascii") + b"\n", password=None)
        except (ValueError, TypeError, UnicodeEncodeError, UnsupportedAlgorithm):
            # Not chained: the cause may quote secret key bytes.
            raise KeyFormatError("RSA private key PEM does not parse") from None
        if not isinstance(loaded, rsa.RSAPrivateKey):
            raise KeyFormatError("PEM private key is not an RSA key")
        return cls.from_rsa(loaded)


def secret_key_file(key: PrivateKey) -> bytes:
    """The ``.sec`` file bytes fioctl writes.  Secret."""
    return dumps_compact({"keytype": key.kind, "keyval": {"private": key.private_value()}})


def parse_secret_key_file(data: bytes, *, what: str = "secret key file") -> PrivateKey:
    try:
        obj = loads_object(data, max_bytes=MAX_KEY_FILE_BYTES, what=what)
    except InputFormatError as exc:
        # Not chained: the cause may quote secret key bytes.
        raise KeyFormatError(exc.message) from None
    keyval = obj.get("keyval")
    if not isinstance(keyval, Mapping) or "private" not in keyval:
        raise KeyFormatError(f"{what} has no keyval.private")
    try:
        return PrivateKey.from_parts(obj.get("keytype"), keyval["private"])
    except KeyFormatError as exc:
        # Not chained: the cause may quote secret key bytes.
        raise KeyFormatError(f"{what}: {exc.message}") from None


RandomBytes = Callable[[int], bytes]


def generate_key(keytype: str, random_bytes: RandomBytes, *, rsa_bits: int = RSA_DEFAULT_BITS) -> PrivateKey:
    """Make a new key.  ED25519 draws its seed from ``random_bytes``; RSA key generation
    happens inside pyca/cryptography, which draws from the OS CSPRNG itself."""
    kind = normalize_keytype(keytype)
    if kind == ED25519:
        return PrivateKey.from_ed25519_seed(random_bytes(32))
    if rsa_bits < RSA_MIN_BITS:
        raise KeyFormatError(f"RSA keys need at least {RSA_MIN_BITS} bits")
    from cryptography.hazmat.primitives.asymmetric import rsa

    return PrivateKey.from_rsa(rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits))
