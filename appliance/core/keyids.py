"""Key id rules of every fioctl era, so roots made by any of them are read as they are.

Devices never check a key id against its key (aktualizr ``MetaWithKeys::ParseKeys`` takes
the id as given), so the id is a label; what must hold is that one public key never
counts twice, which the verifier ensures by counting distinct keys.  We still name the
rule each id follows, so an officer can see where a root came from:

- ``der``: sha256 of the DER SubjectPublicKeyInfo (ota-tuf / garage-sign; fioctl until
  Mar 2021 and again from Oct 2022, ``genTufKeyId``, fioctl 7fd8404).  New keys use it.
- ``json``: sha256 of the canonical JSON ``{"keytype":..,"keyval":{"public":..}}``
  (fioctl 9bfd1e0, Mar 2021, ``client.AtsKey.KeyID``, until 7fd8404, Oct 2022).
- ``pem``: sha256 of the PEM text of the public key (fioctl 0f83e92 ``rotate_targets.go``,
  Feb 2021 branch build, replaced by 5602a2f before release v0.15).
- ``sec-file``: sha256 of the ``.sec`` key file bytes, i.e. Go ``json.Marshal`` of the
  private key object (fioctl 8656ae9 ``rotate_root.go`` ``swapRootKey``, Feb 2021 branch
  build, fixed by c8e1ffb); provable only with that ``.sec`` file at hand.

The three branch-build rules were never in a tagged release (first tag after them, v0.15,
has the JSON rule), but a tarball or root made by such a build still reads.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping

from .errors import MetadataError
from .keys import PublicKey
from .strictjson import canonical

DER = "der"
JSON = "json"
PEM = "pem"
SEC_FILE = "sec-file"
UNKNOWN = "unknown"

RULE_LABELS = {
    DER: "sha256 of DER public key (ota-tuf; fioctl <2021-03 and >=2022-10)",
    JSON: "sha256 of canonical JSON key (fioctl 2021-03..2022-10)",
    PEM: "sha256 of PEM public key (fioctl Feb 2021 branch)",
    SEC_FILE: "sha256 of the .sec key file (fioctl Feb 2021 branch)",
    UNKNOWN: "no known rule (devices do not check key ids)",
}
SHORT_LABELS = {DER: "DER", JSON: "JSON", PEM: "PEM", SEC_FILE: "sec-file", UNKNOWN: "unknown"}

_KEYID = re.compile(r"[0-9a-f]{64}")


def json_keyid(key: PublicKey) -> str:
    """fioctl ``AtsKey.KeyID``: the key object as written (keytype verbatim, only ``public``)."""
    return hashlib.sha256(canonical({"keytype": key.keytype, "keyval": {"public": key.public}})).hexdigest()


def pem_keyid(key: PublicKey) -> str:
    return hashlib.sha256(key.public.encode("utf-8")).hexdigest()


def public_rules(key: PublicKey) -> dict[str, str]:
    """Rule name -> the id that rule gives ``key`` (only rules computable from the public key)."""
    out = {DER: key.keyid, JSON: json_keyid(key)}
    if key.kind == "RSA":
        out[PEM] = pem_keyid(key)
    return out


def keyid_rule(keyid: str, key: PublicKey, sec_file: bytes | None = None) -> str:
    """Which rule made ``keyid`` for ``key``; ``sec_file`` (the key's ``.sec`` bytes) proves ``sec-file``."""
    for rule, computed in public_rules(key).items():
        if computed == keyid:
            return rule
    if sec_file is not None and hashlib.sha256(sec_file).hexdigest() == keyid:
        return SEC_FILE
    return UNKNOWN


def check_keyids(keys: Mapping[str, PublicKey]) -> None:
    """The id rules we hold roots to, each one there to protect the reader of a root.

    - an id is 64 lower-case hex digits (every era's ``%x`` of a sha256);
    - an id that some rule gives a *different* listed key is refused: it would show the
      officer another key's id.
    """
    claimed: dict[str, str] = {}
    for keyid, key in keys.items():
        for computed in public_rules(key).values():
            claimed.setdefault(computed, keyid)
    for keyid, key in keys.items():
        if not _KEYID.fullmatch(keyid):
            raise MetadataError(
                f"key id {keyid[:20]!r} is not 64 lower-case hex digits (rule: key ids are sha256 digests in every"
                " fioctl era)"
            )
        owner = claimed.get(keyid)
        if owner is not None and owner != keyid and not keys[owner].same_key(key):
            raise MetadataError(
                f"key id {keyid[:16]}… is the id of another key in this root ({owner[:16]}…) (rule: an id may not"
                " name a different key)"
            )


def rules_legend(keys: Mapping[str, PublicKey]) -> str:
    """One line naming the id rules the listed keys follow, for the tables that label them."""
    used = {keyid_rule(keyid, key) for keyid, key in keys.items()}
    return ", ".join(f"{SHORT_LABELS[r]} = {RULE_LABELS[r]}" for r in RULE_LABELS if r in used)


def listed_keyid_rule(keyid: str, key: PublicKey, listed: str | None, sec_file: bytes | None = None) -> tuple[str, str]:
    """The id a root lists for a tarball key and the rule it follows (the DER id when unlisted)."""
    if listed is None:
        return keyid, DER
    return listed, keyid_rule(listed, key, sec_file)
