"""The streaming root-chain verifier: flat memory, linear work, same verdicts; and the
ED25519 fast path for large messages, which must sign exactly as PyNaCl does."""

from __future__ import annotations

import hashlib
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime

import nacl.signing
import pytest

from appliance.core import keys as keys_module
from appliance.core.errors import VerificationError
from appliance.core.keys import ED25519_SIGN_CROSSOVER, ED25519_VERIFY_CROSSOVER, PublicKey
from appliance.core.metadata import RoleKeys, Root, RootMeta, sign_root
from appliance.core.privatekeys import PrivateKey
from appliance.core.verify import verify_root_chain, verify_root_stream, verify_self_signed

NOW = datetime(2026, 11, 23, tzinfo=UTC)
EXPIRES = "2036-01-01T00:00:00Z"


def _key(index: int) -> PrivateKey:
    return PrivateKey.from_ed25519_seed(hashlib.sha256(b"stream %d" % index).digest())


def rotating_chain(versions: int) -> Iterator[bytes]:
    """Root files 1..versions, the root key rotated at every version, made lazily."""
    online = _key(-1)
    previous: PrivateKey | None = None
    for version in range(1, versions + 1):
        current = _key(version % 7)  # keys recur (never in consecutive versions)
        keys = {current.keyid: current.public_key, online.keyid: online.public_key}
        if previous is not None:
            keys[previous.keyid] = previous.public_key
        roles = {"root": RoleKeys((current.keyid,), 1), "targets": RoleKeys((online.keyid,), 1)}
        signers = [current] if previous is None else [previous, current]
        yield sign_root(RootMeta("Root", version, EXPIRES, keys, roles, False), signers).to_bytes()
        previous = current


def _peak_while_verifying(versions: int) -> tuple[int, int]:
    """(peak bytes allocated, PublicKey.from_dict calls) while streaming ``versions`` versions."""
    files = iter(list(rotating_chain(versions)))  # made before measuring
    first = Root.from_bytes(next(files))
    verify_self_signed(first)
    calls = 0
    original = PublicKey.from_dict.__func__  # type: ignore[attr-defined]

    def counting(cls: type[PublicKey], data: object) -> PublicKey:
        nonlocal calls
        calls += 1
        return original(cls, data)  # type: ignore[no-any-return]

    PublicKey.from_dict = classmethod(counting)  # type: ignore[method-assign,assignment]
    tracemalloc.start()
    try:
        final = verify_root_stream(first, files, NOW)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        PublicKey.from_dict = classmethod(original)  # type: ignore[method-assign,assignment]
    assert final.version == versions
    return peak, calls


def test_streaming_memory_is_flat_and_each_new_key_is_parsed_once() -> None:
    small_peak, small_calls = _peak_while_verifying(40)
    large_peak, large_calls = _peak_while_verifying(400)
    # Holding every root would grow ~10x; the stream holds one trusted root and one candidate.
    assert large_peak < 1.5 * small_peak + 64 * 1024, (small_peak, large_peak)
    # One new root key per version; the recurring keys (online, previous root) are reused.
    assert small_calls == 39
    assert large_calls == 399


def test_stream_and_list_verifiers_agree_on_a_bad_link() -> None:
    files = list(rotating_chain(6))
    roots = [Root.from_bytes(data) for data in files]
    # Replace v4 by a v4 signed only by its own new key: the old root key's signature is missing.
    meta4 = roots[3].meta
    forged = sign_root(meta4, [_key(4 % 7)]).to_bytes()
    files[3] = forged
    with pytest.raises(VerificationError) as listed:
        verify_root_chain(roots[0], [Root.from_bytes(data) for data in files[1:]], NOW)
    with pytest.raises(VerificationError) as streamed:
        verify_root_stream(roots[0], iter(files[1:]), NOW)
    assert streamed.value.message == listed.value.message
    assert "v4 is not a valid successor of v3" in streamed.value.message


def test_stream_with_no_versions_checks_the_trusted_roots_expiry() -> None:
    first = Root.from_bytes(next(rotating_chain(1)))
    assert verify_root_stream(first, iter(()), NOW) is first
    with pytest.raises(VerificationError, match="has expired"):
        verify_root_stream(first, iter(()), datetime(2037, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize("size", [0, 1, ED25519_SIGN_CROSSOVER - 1, ED25519_SIGN_CROSSOVER, 4 * 1024 * 1024 + 3])
def test_large_and_small_messages_sign_identically_with_both_libraries(size: int) -> None:
    seed = hashlib.sha256(b"same signature").digest()
    message = hashlib.sha256(b"m").digest() * (size // 32) + b"x" * (size % 32)
    ours = PrivateKey.from_ed25519_seed(seed).sign(message).sig
    assert ours == nacl.signing.SigningKey(seed).sign(message).signature
    from cryptography.hazmat.primitives.asymmetric import ed25519

    assert ours == ed25519.Ed25519PrivateKey.from_private_bytes(seed).sign(message)


@pytest.mark.parametrize("size", [10, ED25519_VERIFY_CROSSOVER - 1, ED25519_VERIFY_CROSSOVER, 300_000])
def test_both_verify_paths_accept_good_and_refuse_bad_signatures(size: int) -> None:
    key = PrivateKey.from_ed25519_seed(bytes([9]) * 32)
    message = bytes(range(256)) * (size // 256) + bytes(size % 256)
    sig = key.sign(message).sig
    public = PublicKey.from_dict(key.public_key.to_dict())
    assert public.verify("ed25519", sig, message)
    assert not public.verify("ed25519", sig, message + b"!")
    assert not public.verify("ed25519", bytes(64), message)
    assert not public.verify("ed25519", sig[:63], message)


def test_crossovers_are_where_the_benchmark_put_them() -> None:
    # A guard against an accidental edit: small root documents must stay on PyNaCl.
    assert keys_module.ED25519_SIGN_CROSSOVER >= 4 * 1024
    assert keys_module.ED25519_VERIFY_CROSSOVER >= 16 * 1024
