"""Verifying a root chain: our streaming verifier against python-tuf, as separate processes.

The chain rotates the root key at every version (version n+1 is signed by the key of
version n and its own new key; fixed-seed ED25519 keys), the worst case a device or the
appliance walks.  Files are written to a directory once; each side then runs as its own
process that reads them one at a time: ours through ``verify_root_stream`` (v1 checked
as self-signed, then every link, then the final expiry), python-tuf through the
TrustedMetadataSet its ngclient Updater uses (v1 trusted, ``update_root`` per version,
final expiry).  The parent times each whole process (start-up included, medians of
interleaved runs); each child also reports its own verification time and memory.

Then the scaling of ours from 10 to 10,000 versions: µs per version (should be flat:
linear time) and the peak of Python allocations during verification plus the child's
peak RSS (should be flat: only the trusted root is held).

Run: .venv/bin/python scripts/bench/chain_verify.py [--versions 1000] [--runs 5] [--scale 10,100,1000,10000]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

GOAL = 2.0
GOAL_MIB_AT_10000 = 50
NOW = datetime(2026, 11, 23, tzinfo=UTC)
EXPIRES = "2036-01-01T00:00:00Z"
CACHE = Path(tempfile.gettempdir()) / "tuf-airgap-bench-chains"


def build_chain(directory: Path, versions: int, *, spec: bool) -> None:
    """Root files 1..``versions`` (Foundries dialect, and the spec dialect when ``spec``)."""
    from appliance.core.metadata import RoleKeys, RootMeta, sign_root
    from appliance.core.privatekeys import PrivateKey
    from appliance.core.specdialect import spec_root_bytes, to_spec_root

    def key(index: int) -> PrivateKey:
        return PrivateKey.from_ed25519_seed(hashlib.sha256(b"chain-bench %d" % index).digest())

    (directory / "ours").mkdir(parents=True, exist_ok=True)
    if spec:
        (directory / "spec").mkdir(exist_ok=True)
    online = {"targets": key(-1), "snapshot": key(-2), "timestamp": key(-3)}
    online_keys = {k.keyid: k.public_key for k in online.values()}
    online_roles = {r: RoleKeys((k.keyid,), 1) for r, k in online.items()}
    previous: PrivateKey | None = None
    for version in range(1, versions + 1):
        current = key(version)
        keys = {current.keyid: current.public_key} | online_keys
        if previous is not None:
            keys[previous.keyid] = previous.public_key  # the old root key signed this version
        meta = RootMeta("Root", version, EXPIRES, keys, {"root": RoleKeys((current.keyid,), 1)} | online_roles, False)
        signers = [current] if previous is None else [previous, current]
        (directory / "ours" / f"{version}.root.json").write_bytes(sign_root(meta, signers).to_bytes())
        if spec:
            (directory / "spec" / f"{version}.root.json").write_bytes(spec_root_bytes(to_spec_root(meta, signers)))
        previous = current
    (directory / "done").write_text(str(versions))


def chain_dir(versions: int, *, spec: bool) -> Path:
    directory = CACHE / f"{versions}{'-spec' if spec else ''}"
    if not (directory / "done").exists():
        started = time.perf_counter()
        build_chain(directory, versions, spec=spec)
        print(f"built a {versions}-version chain in {time.perf_counter() - started:.1f} s ({directory})")
    return directory


def files(directory: Path, versions: int) -> Iterator[bytes]:
    for version in range(2, versions + 1):
        yield (directory / f"{version}.root.json").read_bytes()


def child(side: str, directory: Path, versions: int, trace: bool) -> None:
    """One verification in this process; prints JSON {seconds, peak_bytes, maxrss_kib}."""
    if side == "ours":
        from appliance.core.metadata import Root
        from appliance.core.verify import verify_root_stream, verify_self_signed

        def run() -> None:
            first = Root.from_bytes((directory / "ours" / "1.root.json").read_bytes())
            verify_self_signed(first)
            assert verify_root_stream(first, files(directory / "ours", versions), NOW).version == versions
    else:
        from tuf.api.metadata import Root as TufRoot
        from tuf.ngclient._internal.trusted_metadata_set import TrustedMetadataSet
        from tuf.ngclient.config import EnvelopeType

        def run() -> None:
            trusted = TrustedMetadataSet((directory / "spec" / "1.root.json").read_bytes(), EnvelopeType.METADATA)
            for data in files(directory / "spec", versions):
                trusted.update_root(data)
            root = trusted[TufRoot.type]
            assert root.version == versions and not root.is_expired(NOW)

    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    run()
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if trace else 0
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "peak_bytes": peak, "maxrss_kib": maxrss}))


def spawn(side: str, directory: Path, versions: int, *, trace: bool = False) -> tuple[float, dict[str, float]]:
    command = [sys.executable, __file__, "--child", side, "--dir", str(directory), "--versions", str(versions)]
    started = time.perf_counter()
    done = subprocess.run([*command, *(["--trace"] if trace else [])], capture_output=True, text=True, check=True)
    return time.perf_counter() - started, json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--versions", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--scale", default="10,100,1000,10000")
    parser.add_argument("--child", choices=("ours", "tuf"))
    parser.add_argument("--dir", type=Path)
    parser.add_argument("--trace", action="store_true")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.dir, args.versions, args.trace)
        return

    directory = chain_dir(args.versions, spec=True)
    walls: dict[str, list[float]] = {"ours": [], "tuf": []}
    inner: dict[str, list[float]] = {"ours": [], "tuf": []}
    for _ in range(args.runs):
        for side in ("ours", "tuf"):
            took, report = spawn(side, directory, args.versions)
            walls[side].append(took)
            inner[side].append(report["seconds"])
    print(f"{args.versions}-version chain, root key rotated every version; median of {args.runs} interleaved runs")
    print(f"  {'':12s} {'process':>10s} {'verification in-process':>24s}")
    for side, label in (("ours", "ours"), ("tuf", "python-tuf")):
        wall_ms, inner_ms = statistics.median(walls[side]) * 1000, statistics.median(inner[side]) * 1000
        print(f"  {label:12s} {wall_ms:7.1f} ms {inner_ms:21.1f} ms")
    ratio = statistics.median(walls["tuf"]) / statistics.median(walls["ours"])
    inner_ratio = statistics.median(inner["tuf"]) / statistics.median(inner["ours"])
    print(f"speed-up as processes: {ratio:.2f}x (goal >= {GOAL}x: {'met' if ratio >= GOAL else 'NOT met'})")
    print(f"speed-up of verification alone: {inner_ratio:.2f}x")

    print("scaling of ours (one process per size; time without tracing, memory with tracemalloc):")
    print(f"  {'versions':>8s} {'µs/version':>11s} {'peak alloc':>11s} {'peak RSS':>9s}")
    for versions in (int(v) for v in args.scale.split(",")):
        scaled = chain_dir(versions, spec=False)
        seconds = min(spawn("ours", scaled, versions)[1]["seconds"] for _ in range(max(1, args.runs // 2)))
        report = spawn("ours", scaled, versions, trace=True)[1]
        peak_mib, rss_mib = report["peak_bytes"] / 2**20, report["maxrss_kib"] / 1024
        print(f"  {versions:8d} {seconds / versions * 1e6:11.1f} {peak_mib:8.2f} MiB {rss_mib:5.1f} MiB")
        if versions == 10_000:
            verdict = "met" if rss_mib <= GOAL_MIB_AT_10000 else "NOT met"
            print(f"  peak RSS at 10,000 versions: {rss_mib:.1f} MiB (goal <= {GOAL_MIB_AT_10000} MiB: {verdict})")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    main()
