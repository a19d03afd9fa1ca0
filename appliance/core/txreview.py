"""What the officer reads before a root updates operation: plain lines of text (pure).

Every value that came from outside (key ids, owner names, changelog text) passes through
``visible`` so control characters, escapes and bidirectional overrides show as ``\\uXXXX``.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime

from .metadata import RootMeta
from .rootdiff import diff_roots
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


def review_lines(before: Staged, plan: UpdatePlan, now: datetime) -> list[str]:
    lines: list[str] = []
    current = before.current
    for label, old, new in (("CI", current.ci, plan.ci), ("production", current.prod, plan.prod)):
        lines.append(f"staged {label} root v{new.version} against the current {label} root v{old.version}:")
        lines.extend(f"  {line}" for line in root_changes(old.meta, new.meta))
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
