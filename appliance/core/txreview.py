"""What the officer reads before a root updates operation, built as a ``review.Review`` value (pure).

The changes are the semantic diff of the staged roots against the current ones, with key
owners by name; the details say who has signed so far and how many signatures the old and
the new root still need, before and after this appliance signs.  Every value that came
from outside (key ids, owner names, changelog text) passes through ``visible`` so control
characters, escapes and bidirectional overrides show as ``\\uXXXX``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from .bundle import Request
from .identity import PeerKey
from .keys import PrivateKey
from .metadata import RootMeta
from .review import Review, build_review, summarise_root_change
from .rootdiff import diff_roots
from .rootpair import RootPair
from .txplan import UpdatePlan
from .txroots import KEY_OWNERS, Staged, owners
from .txsign import TransactionCount, count_signatures, signer_names


def visible(text: str) -> str:
    """``text`` with every non-printable or format (BiDi) character written as an escape."""
    out = []
    for ch in text:
        if ch.isprintable() and unicodedata.category(ch) != "Cf":
            out.append(ch)
        else:
            out.append(f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}")
    return "".join(out)


def _who(keyid: str, owner: str) -> str:
    return f"{keyid[:16]} ({visible(owner)})" if owner else f"{keyid[:16]} (owner unknown)"


def count_lines(count: TransactionCount, heading: str) -> list[str]:
    lines = [heading]
    for item in (count.ci, count.prod):
        lines.append(
            f"  {item.label} root v{item.result.to_version}: old root keys {item.old.count} of {item.old.threshold} "
            f"(still needed: {item.still_needed_old}), new root keys {item.new.count} of {item.new.threshold} "
            f"(still needed: {item.still_needed_new})"
        )
    lines.append("  => devices accept these roots" if count.met else "  => not enough signatures yet to apply")
    return lines


def root_changes(old: RootMeta, new: RootMeta) -> list[str]:
    """diff_roots, with key owners as one line per key instead of the raw x-key-owners object."""
    lines = [visible(line) for line in diff_roots(old, new) if not line.startswith(f"{KEY_OWNERS}:")]
    before, after = owners(old), owners(new)
    for keyid in sorted(set(before) | set(after)):
        if before.get(keyid) != after.get(keyid):
            who = visible(after[keyid]) if keyid in after else "(entry removed)"
            lines.append(f"owner of key {keyid[:16]}: {who}")
    return lines or ["(no difference)"]


def transaction_review(
    request: Request,
    station: PeerKey,
    before: Staged,
    plan: UpdatePlan,
    now: datetime,
    *,
    details: Sequence[str] = (),
    show_json: bool = False,
    new_keys: Sequence[tuple[str, PrivateKey]] = (),
) -> Review:
    """The ceremony review of a root updates operation: the staged roots after it against the current ones."""
    current = before.current
    review = build_review(
        request,
        station,
        current,
        RootPair(plan.ci, plan.prod),
        title=request.operation,
        details=[*details, *review_lines(before, plan, now)],
        show_json=show_json,
        new_keys=new_keys,
        changes_summary=[*plan.summary, *summarise_root_change(current, RootPair(plan.ci, plan.prod))],
    )
    changes = (
        (f"CI (staged v{plan.ci.version})", tuple(root_changes(current.ci.meta, plan.ci.meta))),
        (f"production (staged v{plan.prod.version})", tuple(root_changes(current.prod.meta, plan.prod.meta))),
    )
    signers = tuple(_who(k, o) for k, o in signer_names(plan.ci, current.ci)) or ("(nobody yet)",)
    return replace(review, changes=changes, new_signers=signers)


def review_lines(before: Staged, plan: UpdatePlan, now: datetime) -> list[str]:
    """Who signed, what this request does, and the signature counts before and after it."""
    lines: list[str] = []
    current = before.current
    lines.append("this request:")
    lines.extend(f"  {visible(line)}" for line in plan.summary)
    names = signer_names(before.ci, current.ci)
    lines.append("signed so far: " + (", ".join(_who(k, o) for k, o in names) or "(nobody)"))
    lines.extend(count_lines(count_signatures(before, now), "signatures before this appliance:"))
    after = plan.as_staged(before)
    if plan.ci.signed_bytes() != before.ci.signed_bytes():
        lines.append("the change clears every signature: each officer signs the changed roots again")
    if plan.signers:
        table = owners(plan.ci.meta) | owners(current.ci.meta)
        for signer in plan.signers:
            where = [w for w, flag in (("current", signer.in_current), ("staged", signer.in_staged)) if flag]
            lines.append(
                f"this appliance signs with {_who(signer.keyid, table.get(signer.keyid, ''))}, "
                f"a key of the {' and '.join(where)} root, file {visible(signer.base.rsplit('/', 1)[-1])}"
            )
    lines.extend(count_lines(count_signatures(after, now), "signatures after this appliance:"))
    if plan.new_key is not None:
        lines.append(f"new key: {plan.new_key.keyid} ({plan.new_key.kind})")
    return lines
