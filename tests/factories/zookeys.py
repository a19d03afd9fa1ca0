"""Keys of the zoo: fixed material, deterministic signatures, and the three key-id rules.

RSA keys come from a committed seed file (generating RSA-4096 every run is too slow); ED25519 keys
derive from a label. RSA-PSS normally takes a random salt: here the salt is derived from the key
label and message so every regeneration is byte-identical, while staying a valid 32-byte-salt PSS
signature (fioctl tuf_crypto.go: PSSOptions{SaltLength: 32, Hash: SHA256}).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from tests.factories.gobytes import canonical_json, go_json

SEED_FILE = Path(__file__).with_name("seed-keys.json")


@dataclass(frozen=True)
class ZooKey:
    label: str
    keytype: str  # "RSA" or "ED25519", as fioctl writes it (tuf_crypto.go constants)
    rsa_key: rsa.RSAPrivateKey | None = None
    ed_seed: bytes | None = None

    @property
    def public_value(self) -> str:
        """keyval.public: PKIX 'PUBLIC KEY' PEM for RSA, hex of the 32 raw bytes for ED25519."""
        if self.rsa_key is not None:
            return (
                self.rsa_key.public_key()
                .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
                .decode()
            )
        return self._ed().public_key().public_bytes_raw().hex()

    def private_value(self, ed_form: str = "seed") -> str:
        """keyval.private: PKCS#1 'RSA PRIVATE KEY' PEM; ED25519 hex of the 32-byte seed ('seed',
        fioctl since a092df9 and the API) or of seed||public ('go64', fioctl 6439b8a..a092df9)."""
        if self.rsa_key is not None:
            return self.rsa_key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
            ).decode()
        assert self.ed_seed is not None
        if ed_form == "go64":
            return (self.ed_seed + self._ed().public_key().public_bytes_raw()).hex()
        return self.ed_seed.hex()

    def _ed(self) -> ed25519.Ed25519PrivateKey:
        assert self.ed_seed is not None
        return ed25519.Ed25519PrivateKey.from_private_bytes(self.ed_seed)

    def der_public(self) -> bytes:
        pub = self.rsa_key.public_key() if self.rsa_key is not None else self._ed().public_key()
        return pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)

    @property
    def method(self) -> str:
        return "rsassa-pss-sha256" if self.rsa_key is not None else "ed25519"

    def ats_public(self) -> dict[str, object]:
        return {"keytype": self.keytype, "keyval": {"public": self.public_value}}

    def key_id(self, rule: str) -> str:
        """'der': sha256 of the PKIX DER public key (ota-tuf TufCrypto PublicKeyOps.id; fioctl c8e1ffb
        and 7fd8404..HEAD genTufKeyId). 'json': sha256 of canonical JSON {"keytype","keyval":{"public"}}
        (fioctl 9bfd1e0..7fd8404, client AtsKey.KeyID). 'privjson': sha256 of the Go JSON of the
        private key file (fioctl 8656ae9, on the pull-request branch only, never released)."""
        if rule == "der":
            return hashlib.sha256(self.der_public()).hexdigest()
        if rule == "json":
            return hashlib.sha256(canonical_json(self.ats_public())).hexdigest()
        if rule == "privjson":
            body = {"keytype": self.keytype, "keyval": {"private": self.private_value()}}
            return hashlib.sha256(go_json(body)).hexdigest()
        raise ValueError(rule)

    def sign(self, message: bytes) -> bytes:
        if self.rsa_key is None:
            return self._ed().sign(message)
        salt = hashlib.sha256(b"zoo-pss-salt:" + self.label.encode() + b":" + message).digest()
        return _pss_sign(self.rsa_key, message, salt)


def _mgf1(seed: bytes, length: int) -> bytes:
    out = b""
    counter = 0
    while len(out) < length:
        out += hashlib.sha256(seed + counter.to_bytes(4, "big")).digest()
        counter += 1
    return out[:length]


def _pss_sign(key: rsa.RSAPrivateKey, message: bytes, salt: bytes) -> bytes:
    # RFC 8017 EMSA-PSS-ENCODE (SHA-256, MGF1-SHA-256, 32-byte salt) then RSASP1 with CRT.
    nums = key.private_numbers()
    n = nums.public_numbers.n
    em_bits = n.bit_length() - 1
    em_len = (em_bits + 7) // 8
    m_hash = hashlib.sha256(message).digest()
    h = hashlib.sha256(b"\0" * 8 + m_hash + salt).digest()
    db = b"\0" * (em_len - len(salt) - 32 - 2) + b"\x01" + salt
    masked = bytes(a ^ b for a, b in zip(db, _mgf1(h, len(db)), strict=True))
    first = masked[0] & (0xFF >> (8 * em_len - em_bits))
    em = bytes([first]) + masked[1:] + h + b"\xbc"
    m = int.from_bytes(em, "big")
    s1 = pow(m, nums.dmp1, nums.p)
    s2 = pow(m, nums.dmq1, nums.q)
    s = s2 + nums.q * ((nums.iqmp * (s1 - s2)) % nums.p)
    return s.to_bytes((n.bit_length() + 7) // 8, "big")


def ed_key(label: str) -> ZooKey:
    return ZooKey(label, "ED25519", ed_seed=hashlib.sha256(b"zoo-ed25519:" + label.encode()).digest())


def load_rsa_seeds(path: Path = SEED_FILE) -> dict[str, rsa.RSAPrivateKey]:
    data = json.loads(path.read_text())
    out = {}
    for label, pem in data.items():
        key = serialization.load_pem_private_key(pem.encode(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        out[label] = key
    return out


def write_rsa_seeds(wanted: dict[str, int], path: Path = SEED_FILE) -> None:
    """Generate the RSA keys once; regeneration of the zoo reads them back."""
    have = json.loads(path.read_text()) if path.exists() else {}
    for label, bits in sorted(wanted.items()):
        if label not in have:
            key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
            have[label] = key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
            ).decode()
    path.write_text(json.dumps(have, indent=1, sort_keys=True) + "\n")
