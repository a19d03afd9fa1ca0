"""The CI root and the production root of a factory, checked as a pair.

Both move in lockstep: same version, same ``signed`` content except the
``targets`` threshold, which production may raise (to 2 once an offline
targets key exists).  Histories handed to the appliance are verified link by
link, exactly as a device walks them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .errors import VerificationError
from .metadata import Root, RootMeta
from .verify import verify_root_update, verify_self_signed

MAX_CHAIN = 1000


@dataclass(frozen=True)
class RootPair:
    ci: Root
    prod: Root

    @property
    def version(self) -> int:
        return self.ci.version


def _without_targets_threshold(meta: RootMeta) -> dict[str, Any]:
    data = meta.to_dict()
    roles = dict(data["roles"])
    targets = dict(roles["targets"])
    targets.pop("threshold", None)
    roles["targets"] = targets
    data["roles"] = roles
    return data


def pair_differences(ci: RootMeta, prod: RootMeta) -> list[str]:
    """Where a production root departs from its CI twin beyond a higher (or equal) targets threshold."""
    left, right = _without_targets_threshold(ci), _without_targets_threshold(prod)
    out: list[str] = []
    for name in sorted(set(left) | set(right)):
        if name == "roles":
            lroles, rroles = left[name], right[name]
            out.extend(f"roles.{r}" for r in sorted(set(lroles) | set(rroles)) if lroles.get(r) != rroles.get(r))
        elif left.get(name) != right.get(name):
            out.append(name)
    ci_threshold, prod_threshold = ci.roles["targets"].threshold, prod.roles["targets"].threshold
    if prod_threshold < ci_threshold:
        out.append(f"roles.targets.threshold ({prod_threshold} is lower than CI's {ci_threshold})")
    return out


def check_pair(pair: RootPair) -> None:
    """Raise unless ``pair`` is a consistent CI/production pair."""
    ci, prod = pair.ci.meta, pair.prod.meta
    if ci.version != prod.version:
        raise VerificationError(f"CI root is version {ci.version} but production root is version {prod.version}")
    differences = pair_differences(ci, prod)
    if differences:
        raise VerificationError(
            f"production root v{prod.version} differs from CI root v{ci.version} in more than the targets threshold: "
            + ", ".join(differences)
        )


def parse_chain(objects: Sequence[object], what: str) -> list[Root]:
    if not objects:
        raise VerificationError(f"{what}: no root versions supplied")
    if len(objects) > MAX_CHAIN:
        raise VerificationError(f"{what}: more than {MAX_CHAIN} root versions")
    # The bundle cap above protects the officer's screen and the USB stick; the verifier
    # itself (verify.verify_root_stream) needs no cap.  Keys recur from one version to the
    # next, so each is parsed once.
    roots: list[Root] = []
    for index, obj in enumerate(objects):
        known = roots[-1].meta if roots else None
        roots.append(Root.from_dict(obj, what=f"{what}[{index}]", known=known))
    for before, after in zip(roots, roots[1:], strict=False):
        if after.version != before.version + 1:
            raise VerificationError(f"{what}: version {after.version} follows {before.version}")
    return roots


def verify_history(chain: Sequence[Root], anchor: Root | None, what: str) -> Root:
    """Verify every link of ``chain``; it must start at v1 or contain ``anchor`` unchanged.

    Expiry is not enforced: an expired current root is exactly what a rotation repairs.
    """
    if anchor is not None:
        match = [r for r in chain if r.version == anchor.version]
        if not match:
            if chain[0].version > anchor.version:
                raise VerificationError(
                    f"{what}: history starts at v{chain[0].version}, after the v{anchor.version} this appliance trusts"
                )
            if chain[-1].version < anchor.version:
                raise VerificationError(
                    f"{what}: server is at v{chain[-1].version}, older than the v{anchor.version} this appliance"
                    " already trusts (rollback?)"
                )
        elif match[0].signed_bytes() != anchor.signed_bytes():
            raise VerificationError(
                f"{what}: v{anchor.version} differs from the one this appliance saw before (forked history)"
            )
    elif chain[0].version != 1:
        raise VerificationError(f"{what}: a first ceremony needs the history from v1")
    if chain[0].version == 1:
        verify_self_signed(chain[0])
    for before, after in zip(chain, chain[1:], strict=False):
        verify_root_update(before, after, None)
    return chain[-1]


def production_variant(ci_meta: RootMeta, targets_threshold: int) -> RootMeta:
    """The production root for ``ci_meta``: identical but for the targets threshold."""
    role = ci_meta.roles["targets"]
    if targets_threshold > len(role.keyids):
        raise VerificationError(
            f"production targets threshold {targets_threshold} cannot be met by {len(role.keyids)} targets key(s)"
        )
    return ci_meta.with_role("targets", role.keyids, targets_threshold)


def same_metadata(a: Root, b: Root) -> bool:
    return a.signed_bytes() == b.signed_bytes() and {s.keyid: s.sig for s in a.signatures} == {
        s.keyid: s.sig for s in b.signatures
    }
