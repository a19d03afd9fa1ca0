"""Signature threshold checks and root rotation verification, as devices apply them.

aktualizr's rules (src/libaktualizr/uptane/metawithkeys.cc, uptanerepository.cc):
a signature list may not name a key id twice; an unknown ``method`` rejects the
whole document; signatures by keys not in the role are skipped; root N+1 must be
version N+1 and meet the root threshold of root N *and* of itself; only the final
root's expiry matters, expired meaning ``expires < now`` (``timefmt.is_expired``).
We add: distinct *public keys* are counted, so one key listed under two ids cannot
count twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from .errors import VerificationError
from .keys import ACCEPTED_METHODS, PublicKey, SignatureEntry
from .metadata import Envelope, RoleKeys, Root
from .timefmt import is_expired

_ALL_METHODS = frozenset().union(*ACCEPTED_METHODS.values())


@dataclass(frozen=True)
class ThresholdResult:
    role: str
    threshold: int
    signed_by: tuple[str, ...]  # key ids whose signature verified, one per distinct public key
    bad: tuple[str, ...]  # key ids of the role whose signature did not verify
    ignored: tuple[str, ...]  # signatures by keys that are not in the role

    @property
    def count(self) -> int:
        return len(self.signed_by)

    @property
    def met(self) -> bool:
        return self.count >= self.threshold

    def describe(self) -> str:
        return f"{self.role}: {self.count} of {self.threshold} required signature(s)"


def check_threshold(
    payload: bytes,
    signatures: Sequence[SignatureEntry],
    keys: Mapping[str, PublicKey],
    role: RoleKeys,
    role_name: str,
    verified: dict[tuple[bytes, str, bytes], bool] | None = None,
) -> ThresholdResult:
    """Count valid signatures over ``payload`` by distinct keys of ``role``.

    Raises VerificationError for what makes a device reject the document outright:
    a repeated key id or an unsupported signature method.  ``verified`` remembers
    outcomes over the same ``payload`` so one signature is checked once per document.
    """
    seen_ids: set[str] = set()
    for sig in signatures:
        if sig.keyid in seen_ids:
            raise VerificationError(f"{role_name}: key id {sig.keyid[:16]} signs twice")
        seen_ids.add(sig.keyid)
        if sig.method.lower() not in _ALL_METHODS:
            raise VerificationError(f"{role_name}: unsupported signature method {sig.method!r}")
    counted: dict[bytes, str] = {}
    bad: list[str] = []
    ignored: list[str] = []
    for sig in signatures:
        key = keys.get(sig.keyid)
        if key is None or sig.keyid not in role.keyids:
            ignored.append(sig.keyid)
            continue
        memo = (key.spki_der, sig.method, sig.sig)
        if verified is not None and memo in verified:
            good = verified[memo]
        else:
            good = key.verify(sig.method, sig.sig, payload)
            if verified is not None:
                verified[memo] = good
        if good:
            counted.setdefault(key.spki_der, sig.keyid)
        else:
            bad.append(sig.keyid)
    return ThresholdResult(role_name, role.threshold, tuple(counted.values()), tuple(bad), tuple(ignored))


def check_role(envelope: Envelope, root: Root, role_name: str) -> ThresholdResult:
    """Check ``envelope`` (any role's metadata) against ``root``'s definition of that role."""
    if role_name not in root.meta.roles:
        raise VerificationError(f"root has no role {role_name!r}")
    return check_threshold(
        envelope.signed_bytes(), envelope.signatures, root.meta.keys, root.meta.roles[role_name], role_name
    )


@dataclass(frozen=True)
class RootUpdateResult:
    from_version: int
    to_version: int
    by_trusted: ThresholdResult  # new root signed by the trusted root's root keys
    by_itself: ThresholdResult  # new root signed by its own root keys
    expired: bool

    @property
    def version_ok(self) -> bool:
        return self.to_version == self.from_version + 1

    @property
    def ok(self) -> bool:
        return self.version_ok and self.by_trusted.met and self.by_itself.met and not self.expired

    def problems(self) -> list[str]:
        out = []
        if not self.version_ok:
            out.append(f"version {self.to_version} does not follow trusted version {self.from_version}")
        if not self.by_trusted.met:
            out.append(f"signed by {self.by_trusted.count} of {self.by_trusted.threshold} required old root key(s)")
        if not self.by_itself.met:
            out.append(f"signed by {self.by_itself.count} of {self.by_itself.threshold} required new root key(s)")
        if self.expired:
            out.append("has expired")
        return out


def check_root_update(trusted: Root, new: Root, now: datetime | None) -> RootUpdateResult:
    """Evaluate ``new`` as the successor of ``trusted``; expiry is checked only when ``now`` is given."""
    payload = new.signed_bytes()
    verified: dict[tuple[bytes, str, bytes], bool] = {}
    by_trusted = check_threshold(
        payload, new.signatures, trusted.meta.keys, trusted.meta.roles["root"], "root (trusted keys)", verified
    )
    by_itself = check_threshold(
        payload, new.signatures, new.meta.keys, new.meta.roles["root"], "root (new keys)", verified
    )
    expired = now is not None and is_expired(new.meta.expires_at, now)
    return RootUpdateResult(trusted.version, new.version, by_trusted, by_itself, expired)


def verify_root_update(trusted: Root, new: Root, now: datetime | None) -> RootUpdateResult:
    result = check_root_update(trusted, new, now)
    if not result.ok:
        raise VerificationError(
            f"root v{new.version} is not a valid successor of v{trusted.version}: " + "; ".join(result.problems())
        )
    return result


def verify_root_chain(trusted: Root, chain: Iterable[Root], now: datetime) -> Root:
    """Walk ``chain`` (versions trusted+1, +2, ...) as a device does; return the last root.

    Intermediate roots may have expired; the final one may not.  Only the current
    trusted root and the next one are held, so ``chain`` may be a generator.
    """
    current = trusted
    pending = iter(chain)
    new = next(pending, None)
    if new is None and is_expired(trusted.meta.expires_at, now):
        raise VerificationError(f"root v{trusted.version} has expired")
    while new is not None:
        following = next(pending, None)
        verify_root_update(current, new, now if following is None else None)
        current, new = new, following
    return current


def parse_roots(documents: Iterable[bytes], first: Root, *, what: str = "root") -> Iterator[Root]:
    """Parse root files one at a time, each reusing the keys of the one before it.

    Every key a root lists exactly as its predecessor did is taken over already parsed
    (the same object, so its key id and verifying key are not rebuilt); the rest of
    every document is parsed and checked in full.
    """
    previous = first
    for index, data in enumerate(documents):
        previous = Root.from_bytes(data, what=f"{what} [{index}]", known=previous.meta)
        yield previous


def verify_root_stream(trusted: Root, documents: Iterable[bytes], now: datetime, *, what: str = "root") -> Root:
    """``verify_root_chain`` over root files read one at a time: time linear in the number
    of versions, memory flat (one trusted root, one candidate, one lookahead document)."""
    return verify_root_chain(trusted, parse_roots(documents, trusted, what=what), now)


def verify_self_signed(root: Root) -> ThresholdResult:
    """A root must meet its own root threshold (how version 1 is checked on first use)."""
    result = check_threshold(root.signed_bytes(), root.signatures, root.meta.keys, root.meta.roles["root"], "root")
    if not result.met:
        raise VerificationError(f"root v{root.version} is not signed by its own root keys: {result.describe()}")
    return result
