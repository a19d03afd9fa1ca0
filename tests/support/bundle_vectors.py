"""Regenerate tests/vectors/bundles/ deterministically (fixed seeds, clock and request id).

Run: .venv/bin/python scripts/make_bundle_vectors.py
(which calls ``main`` here) — tests/core/test_bundle_vectors.py checks
that the committed files equal what this produces, so the vectors never drift from the code.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from appliance.core.bundle import answer, make_request, seal
from appliance.core.identity import Identity
from appliance.core.metadata import RoleKeys, RootMeta, sign_root
from appliance.core.privatekeys import PrivateKey
from appliance.core.strictjson import dumps_pretty

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)
STATION = Identity("station", "vector-station", bytes([0x51]) * 32)
APPLIANCE = Identity("appliance", "vector-appliance", bytes([0xA1]) * 32)
OUT = ROOT / "tests" / "vectors" / "bundles"


def _key(n: int) -> PrivateKey:
    return PrivateKey.from_ed25519_seed(bytes([n]) * 32)


def build() -> dict[str, bytes]:
    root_key = _key(1)
    online = {"targets": _key(2), "snapshot": _key(3), "timestamp": _key(4)}
    keys = {root_key.keyid: root_key.public_key} | {k.keyid: k.public_key for k in online.values()}
    roles = {"root": RoleKeys((root_key.keyid,), 1)} | {r: RoleKeys((k.keyid,), 1) for r, k in online.items()}
    root_v1 = sign_root(RootMeta("Root", 1, "2027-11-23T10:00:00Z", keys, roles, False), [root_key])
    request = make_request(
        factory="acme",
        operation="rotate-root",
        parameters={"key_type": "ED25519", "changelog": "vector rotation"},
        payload={"ci_roots": [root_v1.to_dict()], "prod_roots": [root_v1.to_dict()]},
        sequence=1,
        now=NOW,
        random_bytes=lambda n: bytes(range(n)),
    )
    request_bytes = seal(request.body(), STATION)
    response = answer(request, {"note": "result body depends on the operation"}, NOW)
    response_bytes = seal(response.body(), APPLIANCE)
    files = {
        "station.pub": STATION.peer.to_bytes(),
        "appliance.pub": APPLIANCE.peer.to_bytes(),
        "valid-request.json": request_bytes,
        "valid-response.json": response_bytes,
    }
    body = json.loads(request_bytes)
    files["invalid-request-bit-flipped.json"] = request_bytes.replace(b'"sequence": 1', b'"sequence": 2')
    files["invalid-request-truncated.json"] = request_bytes[: len(request_bytes) // 2]
    files["invalid-request-foreign-signer.json"] = seal(request.body(), Identity("station", "x", bytes([7]) * 32))
    files["invalid-request-as-response.json"] = seal(request.body(), APPLIANCE)
    dup = request_bytes.replace(b'"factory": "acme",', b'"factory": "acme", "factory": "evil",', 1)
    files["invalid-request-duplicate-key.json"] = dup
    files["invalid-request-float.json"] = request_bytes.replace(b'"format_version": 1', b'"format_version": 1.0')
    extra = dict(body)
    extra["comment"] = "unsigned extra field"
    files["invalid-request-extra-outer-field.json"] = dumps_pretty(extra)
    files["invalid-response-wrong-digest.json"] = seal({**response.body(), "request_digest": "0" * 64}, APPLIANCE)
    return files


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, data in build().items():
        (OUT / name).write_bytes(data)
    print(f"wrote {len(build())} vectors to {OUT}")


if __name__ == "__main__":
    main()
