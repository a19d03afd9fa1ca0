"""Staged roots of a TUF root updates transaction, and fioctl's rules for changing them (pure).

fioctl (foundriesio/fioctl subcommands/keys/tuf_utils.go and tuf_updates_*.go, see
bundle-spec.md §11) stages every offline key change the same way: take the staged CI
root, change its ``signed`` part, then *finalize*: drop every signature, drop keys no
role uses (and their ``x-key-owners`` entries), and regenerate the production root as
a copy of the CI root whose only difference is the targets threshold (the staged
production value, else 2).  The server, not the client, sets the staged version and
changelog when the transaction starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from .errors import KeyMissingError, MetadataError, VerificationError
from .keysarchive import KeysArchive
from .metadata import KEY_OWNERS, Root, RootMeta, build_root
from .privatekeys import PrivateKey
from .rootpair import RootPair, pair_differences
from .timefmt import add_years, format_expires

OFFLINE_ROLES = ("root", "targets")
PRODUCTION_TARGETS_THRESHOLD = 2  # fioctl genProdTufRoot
MIN_THRESHOLD = {"root": 1, "targets": 2}  # fioctl set-threshold minimums (targets: production only)


@dataclass(frozen=True)
class Staged:
    """What a transaction holds: the current pair, the staged CI root and (maybe) production root."""

    current: RootPair
    ci: Root
    prod: Root | None
    online_keys: Mapping[str, str]  # role -> online key id, as the server reports them

    @property
    def online_targets(self) -> str:
        keyid = self.online_keys.get("targets", "")
        if not keyid:
            raise VerificationError("the transaction does not name the online targets key")
        return keyid

    def prod_or_generated(self) -> Root:
        """The staged production root, or fioctl's genProdTufRoot of the staged CI root."""
        if self.prod is not None:
            return self.prod
        return generate_production(self.ci, PRODUCTION_TARGETS_THRESHOLD)


def generate_production(ci: Root, targets_threshold: int) -> Root:
    """A copy of ``ci`` (signatures and all) with the targets threshold set: genProdTufRoot."""
    role = ci.meta.roles["targets"]
    meta = ci.meta.with_role("targets", role.keyids, targets_threshold)
    return build_root(meta, ci.signatures, ci.envelope.extra)


def owners(meta: RootMeta) -> dict[str, str]:
    """key id -> ``polis-id`` from ``x-key-owners`` (empty when absent or malformed)."""
    raw = meta.extra.get(KEY_OWNERS)
    if not isinstance(raw, Mapping):
        return {}
    out = {}
    for keyid, entry in raw.items():
        if isinstance(entry, Mapping) and isinstance(entry.get("polis-id"), str):
            out[keyid] = entry["polis-id"]
    return out


def finalize(staged: Staged, ci_meta: RootMeta) -> tuple[Root, Root]:
    """finalizeTufRootChanges: unsigned CI root and its production twin."""
    ci_meta = ci_meta.without_unused_keys()
    _check_meta(ci_meta)
    extra = {k: v for k, v in staged.ci.envelope.extra.items() if k != "targets-signatures"}
    ci = build_root(ci_meta, (), extra)
    # genProdTufRoot sets 2 and fioctl 5e30fc6 keeps a staged production root's (custom) targets
    # threshold.  Not bounded by the key count (aktualizr allows 1..1000): with one targets key,
    # production targets wait for an offline targets key, as on every factory fioctl manages.
    prod = staged.prod
    threshold = prod.meta.roles["targets"].threshold if prod is not None else PRODUCTION_TARGETS_THRESHOLD
    return ci, generate_production(ci, threshold)


def _check_meta(meta: RootMeta) -> None:
    try:
        RootMeta.from_dict(meta.to_dict())
    except MetadataError as exc:
        raise VerificationError(f"the changed root would be invalid: {exc.message}") from None


def _check_threshold(meta: RootMeta, role: str, threshold: int, label: str) -> None:
    count = len(meta.roles[role].keyids)
    if threshold > count:
        raise VerificationError(
            f"the {label} {role} threshold {threshold} could never be met by the role's {count} key(s)",
            hint="Rule: a threshold may not exceed the number of keys in the role (devices would refuse the root "
            "forever). Add keys first, or lower the threshold first.",
        )


def check_staged(staged: Staged) -> None:
    """The staged roots follow the current ones: version + 1, and CI/production differ only as allowed."""
    for label, cur, new in (("CI", staged.current.ci, staged.ci), ("production", staged.current.prod, staged.prod)):
        if new is not None and new.version != cur.version + 1:
            raise VerificationError(
                f"staged {label} root is version {new.version}; the current one is {cur.version}",
                hint="The transaction does not belong to these roots; export a fresh request.",
            )
    if staged.prod is not None:
        differences = pair_differences(staged.ci.meta, staged.prod.meta)
        if differences:
            raise VerificationError(
                "staged production root differs from the staged CI root in: " + ", ".join(differences)
            )


# --- changes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """A staged change: the new unsigned roots plus what the review should say about it."""

    ci: Root
    prod: Root
    summary: tuple[str, ...]
    new_key: PrivateKey | None = None
    removed: tuple[str, ...] = ()


def _role_check(role: str) -> None:
    if role not in OFFLINE_ROLES:
        raise VerificationError(f"role {role!r} is not an offline role; expected root or targets")


def offline_keyids(staged: Staged, role: str, meta: RootMeta | None = None) -> list[str]:
    """Key ids of ``role`` that live offline (for targets: all but the online key)."""
    meta = meta or staged.ci.meta
    keyids = list(meta.roles[role].keyids)
    if role == "targets":
        online = staged.online_targets
        return [k for k in keyids if k != online]
    return keyids


def _held(archive: KeysArchive, meta: RootMeta, keyids: list[str]) -> list[str]:
    return [k for k in keyids if archive.has_private_for(meta.keys[k])]


def _with_key(meta: RootMeta, role: str, keep: list[str], key: PrivateKey, owner: str, now: datetime) -> RootMeta:
    """addOfflineTufKey: the remaining ids, then the new one; an owner entry for it."""
    if key.keyid in meta.keys:
        raise VerificationError(f"the new key {key.keyid[:16]} is already in the root")
    keys = dict(meta.keys)
    keys[key.keyid] = key.public_key
    changed = replace(meta, keys=keys).with_key_owner(key.keyid, owner, format_expires(now))
    return changed.with_role(role, [*keep, key.keyid], meta.roles[role].threshold)


def rotate_key(staged: Staged, role: str, archive: KeysArchive, key: PrivateKey, owner: str, now: datetime) -> Change:
    """rotate-offline-key: the one key of ``role`` this tarball holds is replaced by ``key``.

    Root: expiry becomes one calendar year from now.  Targets: the first rotation (only the
    online key in the role) removes nothing; the expiry stays.
    """
    _role_check(role)
    meta = staged.ci.meta
    candidates = offline_keyids(staged, role)
    removed: list[str] = []
    if role == "root" or candidates:
        held = _held(archive, meta, candidates)
        if len(held) != 1:
            raise KeyMissingError(
                f"the tarball holds {len(held)} of the {role} role's offline keys; rotating needs exactly one",
                hint="Use the officer's own tarball, which holds exactly the key being rotated.",
            )
        removed = held
    keep = [k for k in meta.roles[role].keyids if k not in removed]
    changed = _with_key(meta, role, keep, key, owner, now)
    if role == "root":
        changed = replace(changed, expires=format_expires(add_years(now, 1)))
    ci, prod = finalize(staged, changed)
    summary = [f"{role} key {k[:16]} replaced by new key {key.keyid[:16]}" for k in removed] or [
        f"first offline {role} key {key.keyid[:16]} added"
    ]
    return Change(ci, prod, tuple(summary), key, tuple(removed))


def add_key(staged: Staged, role: str, archive: KeysArchive, key: PrivateKey, owner: str, now: datetime) -> Change:
    """add-offline-key: append a new key; one tarball may hold only one active key per role."""
    _role_check(role)
    meta = staged.ci.meta
    candidates = offline_keyids(staged, role)
    if role == "root" or len(meta.roles[role].keyids) > 1:
        held = _held(archive, meta, candidates)
        if held:
            raise KeyMissingError(
                f"the tarball already holds the active {role} key {held[0][:16]}",
                hint="fioctl rule: one file may not hold more than one active private key per role; "
                "each key holder uses a tarball of their own (a new, empty one for a new holder).",
            )
    changed = _with_key(meta, role, list(meta.roles[role].keyids), key, owner, now)
    ci, prod = finalize(staged, changed)
    return Change(ci, prod, (f"{role} key {key.keyid[:16]} added (owner {owner or '?'})",), key)


def delete_key(staged: Staged, role: str, keyid: str) -> Change:
    """delete-offline-key by key id (fioctl ``--key-id``); the online targets key is never deleted."""
    _role_check(role)
    meta = staged.ci.meta
    if role == "targets" and keyid == staged.online_targets:
        raise VerificationError("the online targets key cannot be deleted", hint="fioctl refuses this too.")
    valid = offline_keyids(staged, role)
    matches = [k for k in valid if k == keyid or (len(keyid) >= 8 and k.startswith(keyid))]
    if len(matches) != 1:
        raise VerificationError(
            f"{keyid[:16]!r} names {len(matches)} of the {role} role's offline keys",
            hint="Valid key ids: " + (", ".join(k[:16] for k in valid) or "(none)"),
        )
    target = matches[0]
    role_keys = meta.roles[role]
    keep = [k for k in role_keys.keyids if k != target]
    _check_threshold(meta.with_role(role, keep, 1), role, role_keys.threshold, "CI")
    ci, prod = finalize(staged, meta.with_role(role, keep, role_keys.threshold))
    return Change(ci, prod, (f"{role} key {target[:16]} deleted",), removed=(target,))


def set_threshold(staged: Staged, role: str, threshold: int) -> Change:
    """set-threshold: root threshold on both roots, or the production targets threshold only."""
    _role_check(role)
    if threshold < MIN_THRESHOLD[role]:
        raise VerificationError(f"the {role} threshold must be at least {MIN_THRESHOLD[role]} (fioctl rule)")
    meta = staged.ci.meta
    if role == "root":
        _check_threshold(meta, "root", threshold, "root")
        ci, prod = finalize(staged, meta.with_role("root", meta.roles["root"].keyids, threshold))
        return Change(ci, prod, (f"root threshold {meta.roles['root'].threshold} -> {threshold}",))
    base = staged.prod_or_generated()
    prod_staged = Staged(staged.current, staged.ci, generate_production(base, threshold), staged.online_keys)
    ci, prod = finalize(prod_staged, meta)
    before = base.meta.roles["targets"].threshold
    return Change(ci, prod, (f"production targets threshold {before} -> {threshold}",))
