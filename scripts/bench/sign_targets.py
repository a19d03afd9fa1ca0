"""Signing and verifying a 10,000-target targets.json against the least work possible.

Ours (sign): the targets object as the strict parser returns it -> Envelope.from_dict
(canonical bytes encoded once, strings and integer ranges checked) -> PrivateKey.sign
(ED25519 over the 4 MB canonical bytes, as Foundries devices verify them; OpenSSL for
large messages).  Ours (verify): check_role against a root naming the key.  Baseline:
json.dumps(sort_keys, separators) -> sha256 -> one PyNaCl signature (or verification)
of the 32-byte digest.  Goal: each at most 1.5 x its baseline.

Also shown, for context: the whole core path of `sign-targets` (Envelope.from_dict,
parse_targets, online-signature check, sign_targets, add_signatures,
check_production_targets).

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
from timing import best  # noqa: E402

from appliance.core.metadata import Envelope, RoleKeys, RootMeta, sign_root  # noqa: E402
from appliance.core.privatekeys import PrivateKey  # noqa: E402
from appliance.core.strictjson import canonical, dumps_compact, loads  # noqa: E402
from appliance.core.targets import add_signatures, check_production_targets, parse_targets, sign_targets  # noqa: E402
from appliance.core.verify import check_role  # noqa: E402

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
    envelope = Envelope.from_dict({"signatures": [], "signed": signed}, parsed=True)
    return key.sign(envelope.signed_bytes()).sig


def bare(signed: dict[str, Any], key: nacl.signing.SigningKey) -> bytes:
    payload = json.dumps(signed, sort_keys=True, separators=(",", ":")).encode()
    return key.sign(hashlib.sha256(payload).digest()).signature


def ours_verify(envelope_dict: dict[str, Any], root: Any) -> None:
    envelope = Envelope.from_dict(envelope_dict, parsed=True)
    assert check_role(envelope, root, "targets").met


def bare_verify(signed: dict[str, Any], key: nacl.signing.VerifyKey, sig: bytes) -> None:
    payload = json.dumps(signed, sort_keys=True, separators=(",", ":")).encode()
    key.verify(hashlib.sha256(payload).digest(), sig)


def command_path(data: dict[str, Any], key: PrivateKey, prod_root: Any) -> None:
    envelope = Envelope.from_dict(data, parsed=True)
    parse_targets(envelope)
    signatures = sign_targets(envelope, [(key.keyid, key, "bench")])
    check_production_targets(add_signatures(envelope, signatures), prod_root)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--targets", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    # As the appliance sees it: parsed by the strict parser from the request's bytes.
    signed = loads(dumps_compact(targets_signed(args.targets)))
    key = PrivateKey.from_ed25519_seed(SEED)
    nacl_key = nacl.signing.SigningKey(SEED)

    root_key = PrivateKey.from_ed25519_seed(bytes([1]) * 32)
    keys = {root_key.keyid: root_key.public_key, key.keyid: key.public_key}
    roles = {"root": RoleKeys((root_key.keyid,), 1), "targets": RoleKeys((key.keyid,), 1)}
    prod_root = sign_root(RootMeta("Root", 1, "2036-01-01T00:00:00Z", keys, roles, False), [root_key])
    unsigned = {"signatures": [], "signed": signed}
    signed_envelope = loads(dumps_compact({"signatures": [key.sign(canonical(signed)).to_dict()], "signed": signed}))
    digest_sig = bare(signed, nacl_key)

    size = len(canonical(signed))
    ours_s = best(lambda: ours(signed, key), args.runs)
    bare_s = best(lambda: bare(signed, nacl_key), args.runs)
    ours_v = best(lambda: ours_verify(signed_envelope, prod_root), args.runs)
    bare_v = best(lambda: bare_verify(signed, nacl_key.verify_key, digest_sig), args.runs)
    command_s = best(lambda: command_path(unsigned, key, prod_root), args.runs)
    print(f"{args.targets} targets, {size / 1e6:.1f} MB canonical, best of {args.runs} runs")
    print(f"  {bare_s * 1000:8.1f} ms  baseline sign: json.dumps + sha256 + nacl sign of the digest")
    print(f"  {ours_s * 1000:8.1f} ms  ours sign: Envelope.from_dict + PrivateKey.sign of the canonical bytes")
    print(f"  {bare_v * 1000:8.1f} ms  baseline verify: json.dumps + sha256 + nacl verify of the digest")
    print(f"  {ours_v * 1000:8.1f} ms  ours verify: Envelope.from_dict + check_role")
    print(f"  {command_s * 1000:8.1f} ms  sign-targets core path (parse, summarise, sign, merge, threshold check)")
    for label, mine, theirs in (("sign", ours_s, bare_s), ("verify", ours_v, bare_v)):
        ratio = mine / theirs
        print(f"ratio {label} ours / baseline: {ratio:.2f}x (goal <= {GOAL}x: {'met' if ratio <= GOAL else 'NOT met'})")


if __name__ == "__main__":
    main()
