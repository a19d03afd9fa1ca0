"""Signing staged roots and counting their signatures the way devices will (pure).

A device accepts root N+1 only when it carries valid signatures from a threshold of
root N's root keys *and* from a threshold of its own root keys (aktualizr
uptane/root.cc, ``Root(raw, verifier)``; bundle-spec.md §11.3).  Signatures are counted
over distinct public keys (``verify.check_threshold``), so a key listed under two ids
counts once.  CI and production roots are separate documents and are counted apart.

Signing follows fioctl's ``signNewTufRoot`` in what it produces (new signatures first,
every earlier signature by another key id kept), but an appliance signs with *every*
root key of the current or staged root its tarball holds; the officer's tarball is meant
to hold only their own keys.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from .errors import KeyMissingError
from .keys import SignatureEntry
from .keys import Signer as KeySigner
from .keysarchive import KeysArchive
from .metadata import Envelope, Root, build_root
from .txroots import Staged, offline_keyids, owners
from .verify import RootUpdateResult, ThresholdResult, check_root_update


@dataclass(frozen=True)
class SignatureCount:
    """How far one staged root is from being acceptable to devices."""

    label: str
    result: RootUpdateResult

    @property
    def old(self) -> ThresholdResult:
        return self.result.by_trusted

    @property
    def new(self) -> ThresholdResult:
        return self.result.by_itself

    @property
    def still_needed_old(self) -> int:
        return max(0, self.old.threshold - self.old.count)

    @property
    def still_needed_new(self) -> int:
        return max(0, self.new.threshold - self.new.count)

    @property
    def met(self) -> bool:
        return self.result.ok

    def describe(self) -> str:
        return (
            f"{self.label} root v{self.result.to_version}: old root keys {self.old.count} of {self.old.threshold}, "
            f"new root keys {self.new.count} of {self.new.threshold}"
        )


@dataclass(frozen=True)
class TransactionCount:
    ci: SignatureCount
    prod: SignatureCount

    @property
    def met(self) -> bool:
        return self.ci.met and self.prod.met

    def problems(self) -> list[str]:
        out: list[str] = []
        for count in (self.ci, self.prod):
            out.extend(f"{count.label} root v{count.result.to_version} {p}" for p in count.result.problems())
        return out


def count_signatures(staged: Staged, now: datetime | None) -> TransactionCount:
    """Both thresholds for both staged roots (production generated from CI when not staged)."""
    prod = staged.prod_or_generated()
    return TransactionCount(
        SignatureCount("CI", check_root_update(staged.current.ci, staged.ci, now)),
        SignatureCount("production", check_root_update(staged.current.prod, prod, now)),
    )


@dataclass(frozen=True)
class Signer:
    keyid: str  # the id the root lists the key under
    key: KeySigner  # a file key, or a token key the shell unlocked
    base: str  # tarball member name without .pub/.sec
    in_current: bool
    in_staged: bool


def root_signers(staged: Staged, archive: KeysArchive) -> list[Signer]:
    """Every root key of the current or the staged root whose private half this tarball holds."""
    current, new = staged.current.ci.meta, staged.ci.meta
    found: dict[bytes, Signer] = {}
    for meta in (new, current):
        for keyid, key, base in archive.signers_for(meta, "root"):
            der = key.public_key.spki_der
            if der in found:
                continue
            found[der] = Signer(
                keyid,
                key,
                base,
                any(current.keys[k].same_key(key.public_key) for k in current.roles["root"].keyids),
                any(new.keys[k].same_key(key.public_key) for k in new.roles["root"].keyids),
            )
    return list(found.values())


def require_root_signers(staged: Staged, archive: KeysArchive) -> list[Signer]:
    signers = root_signers(staged, archive)
    if not signers:
        current = ", ".join(k[:16] for k in staged.current.ci.meta.roles["root"].keyids)
        new = ", ".join(k[:16] for k in staged.ci.meta.roles["root"].keyids)
        raise KeyMissingError(
            f"this tarball holds none of the root keys (current root: {current}; staged root: {new})",
            hint="Nothing was signed. Each officer signs with their own tarball on their own appliance.",
        )
    return signers


def _signed(root: Root, signers: Sequence[Signer]) -> Root:
    payload = root.signed_bytes()
    fresh = [replace(s.key.sign(payload), keyid=s.keyid) for s in signers]
    ids = {sig.keyid for sig in fresh}
    kept = [sig for sig in root.signatures if sig.keyid not in ids]
    return build_root(root.meta, [*fresh, *kept], root.envelope.extra)


def sign_staged(staged: Staged, signers: Sequence[Signer]) -> tuple[Root, Root]:
    """signNewTufRoot: the same signers sign the staged CI and production roots."""
    return _signed(staged.ci, signers), _signed(staged.prod_or_generated(), signers)


def signer_names(root: Root, *others: Root) -> list[tuple[str, str]]:
    """(key id, owner polis-id or '') for each signature on ``root``; owners looked up in all roots given."""
    table: dict[str, str] = {}
    for source in (*others, root):
        table.update(owners(source.meta))
    return [(sig.keyid, table.get(sig.keyid, "")) for sig in root.signatures]


# --- production targets ------------------------------------------------------------------


def offline_targets_signer(staged: Staged, archive: KeysArchive) -> tuple[str, KeySigner]:
    """The one offline targets key of the staged root this tarball holds (sign-prod-targets)."""
    meta = staged.ci.meta
    wanted = set(offline_keyids(staged, "targets"))
    held = [(k, key) for k, key, _ in archive.signers_for(meta, "targets") if k in wanted]
    if len(held) != 1:
        raise KeyMissingError(
            f"the tarball holds {len(held)} of the staged root's offline targets keys; signing needs exactly one",
            hint="Use the tarball that holds the new offline targets key.",
        )
    return held[0]


def sign_documents(documents: Mapping[str, Envelope], keyid: str, key: KeySigner) -> dict[str, list[SignatureEntry]]:
    """One signature per document (tag or wave name), as ``sign-prod-targets`` sends them."""
    return {name: [replace(key.sign(env.signed_bytes()), keyid=keyid)] for name, env in sorted(documents.items())}


def signed_by(documents: Mapping[str, Envelope], keyid: str) -> dict[str, Envelope]:
    """The documents carrying a signature by ``keyid`` (what a targets rotation re-signs)."""
    return {name: env for name, env in documents.items() if any(s.keyid == keyid for s in env.signatures)}
