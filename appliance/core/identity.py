"""Bundle-signing identities of the online station and the appliance.

Each side holds one ED25519 key (PyNaCl) used only to sign bundles; each pins
the other's public key once.  A fingerprint is the SHA-256 of the raw 32-byte
public key, shown as hex groups and as SLIP-39 words (a list designed to be read
aloud: 1024 words, distinct in their first four letters).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

import nacl.exceptions
import nacl.public
import nacl.signing

from .errors import BundleError, KeyFormatError
from .slip39words import WORDLIST
from .strictjson import dumps_compact, loads_object

Side = Literal["station", "appliance"]
SIDES: tuple[Side, ...] = ("station", "appliance")
PUBLIC_FILE_TYPE = "tuf-airgap-identity"
FINGERPRINT_WORDS = 8


def fingerprint(public: bytes) -> str:
    return hashlib.sha256(public).hexdigest()


def fingerprint_groups(public: bytes) -> str:
    fp = fingerprint(public)
    return " ".join(fp[i : i + 4] for i in range(0, 32, 4))


def fingerprint_words(public: bytes) -> list[str]:
    """The first 80 bits of the fingerprint as eight 10-bit words to read aloud."""
    return hex_words(fingerprint(public))


def hex_words(digest_hex: str) -> list[str]:
    """Words for the first 80 bits of a hex digest (a fingerprint or a TUF key id)."""
    value = int.from_bytes(bytes.fromhex(digest_hex[:20]), "big")
    words = []
    for index in range(FINGERPRINT_WORDS):
        shift = 10 * (FINGERPRINT_WORDS - 1 - index)
        words.append(str(WORDLIST[(value >> shift) & 0x3FF]))
    return words


@dataclass(frozen=True)
class PeerKey:
    """A pinned public identity of the other side."""

    side: Side
    name: str
    public: bytes

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public)

    def to_bytes(self) -> bytes:
        return dumps_compact(
            {"type": PUBLIC_FILE_TYPE, "side": self.side, "name": self.name, "public": self.public.hex()}
        )

    @classmethod
    def from_bytes(cls, data: bytes, *, what: str = "identity file") -> PeerKey:
        obj = loads_object(data, max_bytes=4096, what=what)
        if obj.get("type") != PUBLIC_FILE_TYPE:
            raise KeyFormatError(f"{what} is not a tuf-airgap identity", hint="Use the .pub file made by 'init'.")
        side, name, public = obj.get("side"), obj.get("name"), obj.get("public")
        if side not in SIDES or not isinstance(name, str) or not isinstance(public, str):
            raise KeyFormatError(f"{what} has a bad side, name or public value")
        try:
            raw = bytes.fromhex(public)
        except ValueError:
            raw = b""
        if len(raw) != 32:
            raise KeyFormatError(f"{what}: public value must be 64 hex digits")
        return cls(side, name, raw)

    def sealing_key(self) -> bytes:
        """The X25519 public key paired with this ED25519 identity (libsodium's ed25519->curve25519
        map), to which the other side seals secrets (bundle-spec.md §6, first-time takeover)."""
        return bytes(nacl.signing.VerifyKey(self.public).to_curve25519_public_key())

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            nacl.signing.VerifyKey(self.public).verify(message, signature)
        except (nacl.exceptions.BadSignatureError, ValueError):
            return False
        return True


class Identity:
    """This side's private bundle-signing key.  Never printed."""

    __slots__ = ("_key", "peer")

    def __init__(self, side: Side, name: str, seed: bytes) -> None:
        if len(seed) != 32:
            raise KeyFormatError("identity seed must be 32 bytes")
        self._key = nacl.signing.SigningKey(seed)
        self.peer = PeerKey(side, name, bytes(self._key.verify_key))

    def __repr__(self) -> str:
        return f"Identity({self.peer.side}, {self.peer.name!r}, {self.peer.fingerprint[:16]}…)"

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message).signature

    def open_sealed(self, box: bytes, *, what: str) -> bytes:
        """Open a libsodium sealed box made for ``self.peer.sealing_key()``."""
        try:
            return bytes(nacl.public.SealedBox(self._key.to_curve25519_private_key()).decrypt(box))
        except (nacl.exceptions.CryptoError, ValueError):
            raise BundleError(
                f"{what} cannot be opened with this appliance's identity key",
                hint="It was sealed for another appliance; export the request again for the pinned appliance.",
            ) from None

    def secret_bytes(self) -> bytes:
        return dumps_compact(
            {
                "type": "tuf-airgap-identity-secret",
                "side": self.peer.side,
                "name": self.peer.name,
                "seed": bytes(self._key).hex(),
            }
        )

    @classmethod
    def from_secret_bytes(cls, data: bytes, *, what: str = "identity secret") -> Identity:
        obj = loads_object(data, max_bytes=4096, what=what)
        side, name, seed = obj.get("side"), obj.get("name"), obj.get("seed")
        if obj.get("type") != "tuf-airgap-identity-secret" or side not in SIDES or not isinstance(name, str):
            raise KeyFormatError(f"{what} is not a tuf-airgap identity secret")
        if not isinstance(seed, str) or len(seed) != 64 or not set(seed) <= set("0123456789abcdef"):
            raise KeyFormatError(f"{what} has a bad seed")
        return cls(side, name, bytes.fromhex(seed))


def require_pinned(pinned: PeerKey | None, expected_side: Side) -> PeerKey:
    if pinned is None:
        other = "online station" if expected_side == "station" else "appliance"
        raise BundleError(f"no {other} key is pinned", hint="Pair first: run 'pair' with the other side's .pub file.")
    if pinned.side != expected_side:
        raise BundleError(f"the pinned key belongs to a {pinned.side}, not a {expected_side}")
    return pinned
