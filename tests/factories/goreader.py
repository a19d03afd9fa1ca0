"""An independent reader that follows fioctl's Go rules and aktualizr's root checks.

Use it to re-read the zoo and, later, the tarballs and roots the appliance writes. It shares no code
with appliance/ or online/. Rules and their sources are in tests/factories/facts.py.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from tests.factories.gobytes import canonical_json

Json = dict[str, Any]


class GoRuleError(Exception):
    """What fioctl or aktualizr would refuse, worded after their message."""


# --- tarballs (fioctl GetOfflineCreds) ------------------------------------------------------------


def read_creds(tgz: bytes) -> dict[str, bytes]:
    """gzip + tar; directory entries skipped, every other member kept by name (a later duplicate wins,
    as Go's map assignment does)."""
    out: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(tgz)), mode="r:") as tf:
        for m in tf:
            if m.isdir():
                continue
            f = tf.extractfile(m)
            out[m.name] = f.read() if f is not None else b""
    return out


def read_roots(tgz: bytes) -> list[Json]:
    """download-roots layout: N.root.json for N = 1.. without gaps. The canonical bytes carry raw
    newlines inside strings, so the JSON is read non-strictly (as Go's decoder does not: Go refuses
    raw control characters too, which is why fioctl never re-reads these files)."""
    members = read_creds(tgz)
    roots = []
    for n in range(1, len(members) + 1):
        name = f"{n}.root.json"
        if name not in members:
            raise GoRuleError(f"missing {name}")
        roots.append(json.loads(members[name], strict=False))
    return roots


# --- keys (fioctl tuf_crypto.go ParseKey) --------------------------------------------------------


@dataclass(frozen=True)
class Signer:
    keyid: str
    keytype: str
    key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
    member: str


def _pkcs1_only(der: bytes) -> None:
    # x509.ParsePKCS1PrivateKey: SEQUENCE { INTEGER version, INTEGER modulus, ... }. A PKCS#8 body has
    # a SEQUENCE (AlgorithmIdentifier) second, which Go refuses ("use ParsePKCS8PrivateKey instead").
    if len(der) < 4 or der[0] != 0x30:
        raise GoRuleError("Unable to parse RSA private key PKCS1 DER data")
    i = 2 if der[1] < 0x80 else 2 + (der[1] & 0x7F)
    if der[i] != 0x02:
        raise GoRuleError("Unable to parse RSA private key PKCS1 DER data")
    i += 2 + der[i + 1]
    if i >= len(der) or der[i] != 0x02:
        raise GoRuleError("Unable to parse RSA private key PKCS1 DER data: PKCS#8, not PKCS#1")


def parse_private(
    keytype: str, value: str, *, ed_seed_ok: bool = True
) -> rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey:
    """ParseKey. ed_seed_ok=False is fioctl before a092df9 (64-byte seed||public only)."""
    kt = keytype.upper()
    if kt == "RSA":
        lines = value.strip().splitlines()
        if len(lines) < 3 or not lines[0].startswith("-----BEGIN ") or not lines[-1].startswith("-----END "):
            raise GoRuleError("Unable to parse RSA private key PEM data")
        der = base64.b64decode("".join(lines[1:-1]))  # pem.Decode ignores the label; so does Go's ParseKey
        _pkcs1_only(der)
        key = serialization.load_der_private_key(der, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise GoRuleError("Unable to parse RSA private key PKCS1 DER data")
        if key.key_size < 1024:  # Go 1.24+ refuses RSA keys under 1024 bits
            raise GoRuleError("crypto/rsa: 1024-bit keys minimum")
        return key
    if kt == "ED25519":
        try:
            raw = bytes.fromhex(value)
        except ValueError as e:
            raise GoRuleError("Unable to parse Ed25519 private key HEX data") from e
        if len(raw) == 64:
            key = ed25519.Ed25519PrivateKey.from_private_bytes(raw[:32])
            if key.public_key().public_bytes_raw() != raw[32:]:
                # Go would load it and sign with the stored (wrong) public half: signatures never verify.
                raise GoRuleError("Ed25519 64-byte key: public half does not match the seed")
            return key
        if len(raw) == 32 and ed_seed_ok:
            return ed25519.Ed25519PrivateKey.from_private_bytes(raw)
        raise GoRuleError("Wrong Ed25519 private key size")
    raise GoRuleError(f"Unsupported key type: {keytype}")


def find_signers(root: Json, creds: dict[str, bytes], keyids: list[str], *, ed_seed_ok: bool = True) -> list[Signer]:
    """findTufSigners: every *.pub whose trimmed keyval.public equals one of the root's keys; the private
    key is the member named with the first '.pub' replaced by '.sec'. Names are never trusted."""
    want: dict[str, Json] = {}
    for kid in keyids:
        if kid not in root["signed"]["keys"]:
            raise GoRuleError(f"Unable to find key {kid} in root.json")
        want[kid] = root["signed"]["keys"][kid]
    found = []
    for name in sorted(creds):
        if not name.endswith(".pub"):
            continue
        try:
            probe = str(json.loads(creds[name])["keyval"]["public"]).strip()
        except (ValueError, KeyError, TypeError) as e:
            raise GoRuleError(f"Unable to parse JSON for {name}") from e
        match = [k for k, v in want.items() if str(v["keyval"]["public"]).strip() == probe]
        if not match:
            continue
        sec_name = name.replace(".pub", ".sec", 1)
        try:
            sec = json.loads(creds.get(sec_name, b""))
        except ValueError as e:
            raise GoRuleError(f"Unable to parse JSON for {sec_name}") from e
        if sec.get("keytype") != want[match[0]]["keytype"]:
            raise GoRuleError(f"Mismatch in key type for {sec_name}")
        key = parse_private(sec["keytype"], sec["keyval"]["private"], ed_seed_ok=ed_seed_ok)
        found.append(Signer(match[0], sec["keytype"], key, sec_name))
    return found


def find_one_signer(root: Json, creds: dict[str, bytes], keyids: list[str], **kw: bool) -> Signer:
    signers = find_signers(root, creds, keyids, **kw)
    if not signers:
        raise GoRuleError(f"No private key found for key IDs: {keyids}.")
    if len(signers) > 1:
        raise GoRuleError(f"Found more than one active private key for key IDs: {keyids}.")
    return signers[0]


def private_matches_public(signer: Signer, public_value: str) -> bool:
    pub = signer.key.public_key()
    if isinstance(pub, ed25519.Ed25519PublicKey):
        return pub.public_bytes_raw().hex() == public_value.strip()
    pem = pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return pem.strip() == public_value.strip()


def keyid_rule(keyid: str, entry: Json) -> str | None:
    """Which fioctl era rule made this id: 'der' (PKIX DER sha256) or 'json' (canonical AtsKey sha256)."""
    kt = str(entry["keytype"]).lower()
    if kt == "rsa":
        der = _public(entry["keyval"], "rsa").public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    else:
        der = bytes.fromhex("302a300506032b6570032100") + bytes.fromhex(str(entry["keyval"]["public"]))
    if hashlib.sha256(der).hexdigest() == keyid:
        return "der"
    ats = {"keytype": entry["keytype"], "keyval": {"public": entry["keyval"]["public"]}}
    if hashlib.sha256(canonical_json(ats)).hexdigest() == keyid:
        return "json"
    return None


# --- aktualizr root checks (metawithkeys.cc, root update) ----------------------------------------


def _public(keyval: Json, keytype: str) -> rsa.RSAPublicKey | ed25519.Ed25519PublicKey:
    if keytype == "rsa":
        key = serialization.load_pem_public_key(str(keyval["public"]).encode())
        assert isinstance(key, rsa.RSAPublicKey)
        return key
    return ed25519.Ed25519PublicKey.from_public_bytes(bytes.fromhex(str(keyval["public"])))


def count_valid(signer_root: Json, target: Json, role: str = "root") -> int:
    """Valid signatures over target's canonical 'signed' by keys signer_root gives 'role'.
    Raises for what aktualizr throws on: bad key types, thresholds, repeated key ids, unknown methods."""
    keys: dict[str, tuple[str, Json]] = {}
    for kid, k in signer_root["signed"]["keys"].items():
        kt = str(k["keytype"]).lower()
        if kt not in ("rsa", "ed25519"):
            raise GoRuleError(f"Unsupported key type: {k['keytype']}")
        keys[kid] = (kt, k["keyval"])
    for name, r in signer_root["signed"]["roles"].items():
        if not 1 <= int(r["threshold"]) <= 1000:
            raise GoRuleError(f"The role {name} had an illegal signature threshold.")
    role_ids = set(signer_root["signed"]["roles"][role]["keyids"])
    msg = canonical_json(target["signed"])
    seen: set[str] = set()
    valid = 0
    for sig in target["signatures"]:
        kid = sig["keyid"]
        if kid in seen:
            raise GoRuleError("NonUniqueSignatures")
        seen.add(kid)
        method = str(sig["method"]).lower()
        if method not in ("rsassa-pss", "rsassa-pss-sha256", "ed25519"):
            raise GoRuleError(f"Unsupported sign method: {sig['method']}")
        if kid not in keys or kid not in role_ids:
            continue
        kt, keyval = keys[kid]
        pub = _public(keyval, kt)
        raw = base64.b64decode(sig["sig"])
        try:
            if isinstance(pub, rsa.RSAPublicKey):
                pub.verify(raw, msg, padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.AUTO), hashes.SHA256())
            else:
                pub.verify(raw, msg)
            valid += 1
        except InvalidSignature:
            continue
    return valid


def verify_chain(roots: list[Json]) -> None:
    """aktualizr root update: v1 trusted as shipped (self-signed); each next version = previous + 1,
    _type Root, signed by the previous root's threshold of root keys and by its own."""
    for i, root in enumerate(roots):
        s = root["signed"]
        if str(s["_type"]).lower() != "root":
            raise GoRuleError(f"Metadata type {s['_type']} does not match expected role Root")
        if s["version"] != i + 1:
            raise GoRuleError(f"root version {s['version']} at position {i + 1}")
        prev = roots[i - 1] if i else root
        need_prev = int(prev["signed"]["roles"]["root"]["threshold"])
        if count_valid(prev, root) < need_prev:
            raise GoRuleError(f"root v{i + 1}: UnmetThreshold against v{max(i, 1)}")
        if count_valid(root, root) < int(s["roles"]["root"]["threshold"]):
            raise GoRuleError(f"root v{i + 1}: UnmetThreshold against itself")
