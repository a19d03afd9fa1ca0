"""Verifying a 1,000-version root chain: our verifier against python-tuf.

The chain rotates the root key at every version (version n+1 is signed by the key of
version n and its own new key; fixed-seed ED25519 keys), the worst case a device or
the appliance walks.  Our side reads Foundries-format files (Root.from_bytes, then
verify_self_signed on v1 and verify_root_chain); python-tuf reads the same chain
restated in the spec dialect (appliance/core/specdialect.py) through the
TrustedMetadataSet the ngclient Updater uses (v1 trusted, then update_root for every
later version, then the final-root expiry check).  A second pair of numbers compares
verification alone on already parsed objects (our verify_root_chain against
verify_delegate twice per link), and the last lines the end-to-end time with the
prototypes of fastcanon.py swapped in.  Goal: ours at least 2 x faster end to end.

Run: .venv/bin/python scripts/bench/chain_verify.py [--versions 1000] [--runs 5]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fastcanon import all_swapped_in, swapped_in  # noqa: E402
from timing import best  # noqa: E402

from appliance.core.keys import PrivateKey  # noqa: E402
from appliance.core.metadata import RoleKeys, Root, RootMeta, sign_root  # noqa: E402
from appliance.core.specdialect import spec_root_bytes, to_spec_root  # noqa: E402
from appliance.core.verify import verify_root_chain, verify_self_signed  # noqa: E402

GOAL = 2.0
NOW = datetime(2026, 11, 23, tzinfo=UTC)
EXPIRES = "2036-01-01T00:00:00Z"


def key(index: int) -> PrivateKey:
    return PrivateKey.from_ed25519_seed(hashlib.sha256(b"chain-bench %d" % index).digest())


def build_chain(versions: int) -> tuple[list[bytes], list[bytes]]:
    """(Foundries root files, spec-dialect root files) for versions 1..``versions``."""
    online = {"targets": key(-1), "snapshot": key(-2), "timestamp": key(-3)}
    online_keys = {k.keyid: k.public_key for k in online.values()}
    online_roles = {r: RoleKeys((k.keyid,), 1) for r, k in online.items()}
    ours: list[bytes] = []
    spec: list[bytes] = []
    previous: PrivateKey | None = None
    for version in range(1, versions + 1):
        current = key(version)
        keys = {current.keyid: current.public_key} | online_keys
        if previous is not None:
            keys[previous.keyid] = previous.public_key  # the old root key signed this version
        meta = RootMeta("Root", version, EXPIRES, keys, {"root": RoleKeys((current.keyid,), 1)} | online_roles, False)
        signers = [current] if previous is None else [previous, current]
        ours.append(sign_root(meta, signers).to_bytes())
        spec.append(spec_root_bytes(to_spec_root(meta, signers)))
        previous = current
    return ours, spec


def ours_end_to_end(files: list[bytes]) -> None:
    roots = [Root.from_bytes(data) for data in files]
    verify_self_signed(roots[0])
    assert verify_root_chain(roots[0], roots[1:], NOW).version == len(files)


def tuf_end_to_end(files: list[bytes]) -> None:
    from tuf.api.metadata import Root as TufRoot
    from tuf.ngclient._internal.trusted_metadata_set import TrustedMetadataSet
    from tuf.ngclient.config import EnvelopeType

    trusted = TrustedMetadataSet(files[0], EnvelopeType.METADATA)
    for data in files[1:]:
        trusted.update_root(data)
    root = trusted[TufRoot.type]
    assert root.version == len(files) and not root.is_expired(NOW)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--versions", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from tuf.api.metadata import Metadata
    from tuf.api.metadata import Root as TufRoot

    started = time.perf_counter()
    ours_files, spec_files = build_chain(args.versions)
    took = time.perf_counter() - started
    print(f"built a {args.versions}-version chain (root key rotated every version) in {took:.1f} s")

    ours = best(lambda: ours_end_to_end(ours_files), args.runs)
    with swapped_in():
        ours_fast = best(lambda: ours_end_to_end(ours_files), args.runs)
    with all_swapped_in():
        ours_fastest = best(lambda: ours_end_to_end(ours_files), args.runs)
    tuf = best(lambda: tuf_end_to_end(spec_files), args.runs)

    parsed = [Root.from_bytes(data) for data in ours_files]
    tuf_parsed = [Metadata[TufRoot].from_bytes(data) for data in spec_files]

    def tuf_verify_only() -> None:
        for before, after in zip(tuf_parsed, tuf_parsed[1:], strict=False):
            before.signed.verify_delegate(TufRoot.type, after.signed_bytes, after.signatures)
            after.signed.verify_delegate(TufRoot.type, after.signed_bytes, after.signatures)

    ours_verify = best(lambda: verify_root_chain(parsed[0], parsed[1:], NOW), args.runs)
    tuf_verify = best(tuf_verify_only, args.runs)

    print(f"best of {args.runs} runs, {args.versions - 1} links, 2 ED25519 verifications per link")
    for label, mine, theirs in (
        ("end to end (bytes -> verified final root)", ours, tuf),
        ("verification only (parsed objects)", ours_verify, tuf_verify),
    ):
        print(f"  {label:42s} ours {mine * 1000:7.1f} ms   python-tuf {theirs * 1000:7.1f} ms")
    ratio = tuf / ours
    print(f"speed-up end to end: {ratio:.2f}x (goal >= {GOAL}x: {'met' if ratio >= GOAL else 'NOT met'})")
    print(f"speed-up end to end with the prototype encoder of fastcanon.py: {tuf / ours_fast:.2f}x")
    print(f"  ... plus the prototype depth check and signed bytes computed once: {tuf / ours_fastest:.2f}x")
    print(f"speed-up verification only: {tuf_verify / ours_verify:.2f}x")


if __name__ == "__main__":
    main()
