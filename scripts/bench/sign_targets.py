"""Signing a 10,000-target targets.json: our path against bare json + hashlib + PyNaCl.

Ours: Envelope -> canonical(signed) (strictjson, with the signable-string check) ->
PrivateKey.sign.  Bare: json.dumps(sort_keys, separators) -> hashlib.sha256 -> PyNaCl
sign, i.e. the least work any signer could do.  Goal: ours at most 1.5 x the bare time.

Also shown, for context: the whole core path of `sign-targets` (Envelope.from_dict,
parse_targets, sign_targets, add_signatures, check_production_targets), and the same
two paths with the prototype encoder of fastcanon.py (identical bytes) swapped in.

Run: .venv/bin/python scripts/bench/sign_targets.py [--targets 10000] [--runs 5]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import nacl.signing  # noqa: E402
from fastcanon import fast_canonical, swapped_in  # noqa: E402
from timing import best  # noqa: E402

from appliance.core.keys import PrivateKey  # noqa: E402
from appliance.core.metadata import Envelope, RoleKeys, RootMeta, sign_root  # noqa: E402
from appliance.core.strictjson import canonical  # noqa: E402
from appliance.core.targets import add_signatures, check_production_targets, parse_targets, sign_targets  # noqa: E402

GOAL = 1.5
SEED = bytes([42]) * 32


def targets_signed(count: int) -> dict[str, Any]:
    targets = {}
    for index in range(count):
        name = f"raspberrypi4-64-lmp-{index}"
        targets[name] = {
            "hashes": {"sha256": hashlib.sha256(name.encode()).hexdigest()},
            "length": 0,
            "custom": {
                "name": "raspberrypi4-64-lmp",
                "version": str(index),
                "hardwareIds": ["raspberrypi4-64"],
                "tags": ["main", "production"],
                "targetFormat": "OSTREE",
                "uri": f"https://ci.foundries.io/projects/acme/lmp/builds/{index}",
                "createdAt": "2026-11-23T10:00:00Z",
                "updatedAt": "2026-11-23T10:00:00Z",
            },
        }
    return {"_type": "Targets", "expires": "2027-11-23T10:00:00Z", "targets": targets, "version": 42}


def ours(signed: dict[str, Any], key: PrivateKey) -> bytes:
    envelope = Envelope(signed, ())
    return key.sign(envelope.signed_bytes()).sig


def bare(signed: dict[str, Any], key: nacl.signing.SigningKey) -> bytes:
    payload = json.dumps(signed, sort_keys=True, separators=(",", ":")).encode()
    return key.sign(hashlib.sha256(payload).digest()).signature


def command_path(data: dict[str, Any], key: PrivateKey, prod_root: Any) -> None:
    envelope = Envelope.from_dict(data)
    parse_targets(envelope)
    signatures = sign_targets(envelope, [(key.keyid, key, "bench")])
    check_production_targets(add_signatures(envelope, signatures), prod_root)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--targets", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    signed = targets_signed(args.targets)
    key = PrivateKey.from_ed25519_seed(SEED)
    nacl_key = nacl.signing.SigningKey(SEED)
    assert fast_canonical(signed) == canonical(signed)

    root_key = PrivateKey.from_ed25519_seed(bytes([1]) * 32)
    keys = {root_key.keyid: root_key.public_key, key.keyid: key.public_key}
    roles = {"root": RoleKeys((root_key.keyid,), 1), "targets": RoleKeys((key.keyid,), 1)}
    prod_root = sign_root(RootMeta("Root", 1, "2036-01-01T00:00:00Z", keys, roles, False), [root_key])
    unsigned = {"signatures": [], "signed": signed}

    size = len(canonical(signed))
    ours_s = best(lambda: ours(signed, key), args.runs)
    bare_s = best(lambda: bare(signed, nacl_key), args.runs)
    fast_s = best(lambda: key.sign(fast_canonical(signed)), args.runs)
    command_s = best(lambda: command_path(unsigned, key, prod_root), args.runs)
    with swapped_in():
        command_fast_s = best(lambda: command_path(unsigned, key, prod_root), args.runs)
    print(f"{args.targets} targets, {size / 1e6:.1f} MB canonical, best of {args.runs} runs")
    print(f"  {bare_s * 1000:8.1f} ms  bare: json.dumps + sha256 + nacl sign")
    print(f"  {ours_s * 1000:8.1f} ms  ours: Envelope + canonical + PrivateKey.sign")
    print(f"  {fast_s * 1000:8.1f} ms  prototype: regex-checked json.dumps + PrivateKey.sign (same bytes)")
    print(f"  {command_s * 1000:8.1f} ms  sign-targets core path (parse, sign, merge, threshold check)")
    print(f"  {command_fast_s * 1000:8.1f} ms  sign-targets core path with the prototype encoder")
    ratio = ours_s / bare_s
    print(f"ratio ours / bare: {ratio:.2f}x (goal <= {GOAL}x: {'met' if ratio <= GOAL else 'NOT met'})")
    print(f"ratio prototype / bare: {fast_s / bare_s:.2f}x")


if __name__ == "__main__":
    main()
