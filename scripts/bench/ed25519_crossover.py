"""Where pyca/cryptography (OpenSSL) overtakes PyNaCl (libsodium) for ED25519, by message size.

Both produce the same deterministic signatures (checked here for every size); only speed
differs.  appliance/core/keys.py switches libraries at ED25519_SIGN_CROSSOVER and
ED25519_VERIFY_CROSSOVER, which should sit near the sizes where the columns cross.
Keys are loaded once, as the verifier caches them.

Run: .venv/bin/python scripts/bench/ed25519_crossover.py [--runs 50]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import nacl.signing  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ed25519  # noqa: E402
from timing import best  # noqa: E402

SIZES = (256, 1024, 4096, 8192, 16384, 32768, 65536, 131072, 262144, 1 << 20, 4 << 20)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    seed = hashlib.sha256(b"crossover").digest()
    nacl_key = nacl.signing.SigningKey(seed)
    ossl_key = ed25519.Ed25519PrivateKey.from_private_bytes(seed)
    nacl_verify, ossl_verify = nacl_key.verify_key, ossl_key.public_key()
    print(f"best of {args.runs} (fewer for large messages), µs")
    print(f"{'bytes':>9s} {'sign nacl':>10s} {'sign ossl':>10s} {'verify nacl':>12s} {'verify ossl':>12s}")
    for size in SIZES:
        message = (hashlib.sha256(b"m").digest() * (size // 32 + 1))[:size]
        sig = nacl_key.sign(message).signature
        assert ossl_key.sign(message) == sig
        runs = max(3, min(args.runs, (32 << 20) // size))
        cells = (
            best(lambda m=message: nacl_key.sign(m), runs),
            best(lambda m=message: ossl_key.sign(m), runs),
            best(lambda m=message, s=sig: nacl_verify.verify(m, s), runs),
            best(lambda m=message, s=sig: ossl_verify.verify(s, m), runs),
        )
        print(f"{size:9d} " + " ".join(f"{c * 1e6:{w}.1f}" for c, w in zip(cells, (10, 10, 12, 12), strict=True)))


if __name__ == "__main__":
    main()
