"""Terminal rendering of metadata and key lists (rich).  Output only; no decisions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..core.keyids import DER, RULE_LABELS, SHORT_LABELS, keyid_rule
from ..core.keysarchive import KeyEntry
from ..core.metadata import Root, RootMeta


def console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def short(keyid: str) -> str:
    return keyid[:16]


def root_table(root: Root, title: str) -> Table:
    meta = root.meta
    table = Table(title=f"{title}: version {meta.version}, expires {meta.expires}", title_justify="left")
    table.add_column("role")
    table.add_column("threshold", justify="right")
    table.add_column("key id", overflow="fold")  # officers compare whole ids: wrap, never truncate
    table.add_column("id rule")
    table.add_column("type")
    table.add_column("bits", justify="right")
    for name in sorted(meta.roles):
        role = meta.roles[name]
        for index, keyid in enumerate(role.keyids):
            key = meta.keys[keyid]
            table.add_row(
                name if index == 0 else "",
                str(role.threshold) if index == 0 else "",
                keyid,
                SHORT_LABELS[keyid_rule(keyid, key)],
                key.kind,
                str(key.bits),
            )
    signers = ", ".join(short(s.keyid) for s in root.signatures) or "(none)"
    rules = ", ".join(f"{SHORT_LABELS[r]} = {RULE_LABELS[r]}" for r in _rules_used(meta))
    table.caption = f"signed by: {signers}\nid rules: {rules}"
    table.caption_justify = "left"
    return table


def _rules_used(meta: RootMeta) -> list[str]:
    used = {keyid_rule(kid, key) for kid, key in meta.keys.items()}
    return [r for r in RULE_LABELS if r in used]


def key_table(entries: Iterable[KeyEntry], root: Root | None, files: Mapping[str, bytes] | None = None) -> Table:
    table = Table(title="keys in tarball", title_justify="left")
    table.add_column("file")
    table.add_column("key id", overflow="fold")  # officers compare whole ids: wrap, never truncate
    table.add_column("id rule")
    table.add_column("type")
    table.add_column("private")
    table.add_column("roles in root")
    for entry in entries:
        roles = ""
        keyid, rule = entry.keyid, DER
        if root is not None:
            listed = root.meta.keyid_for(entry.public)
            if listed is not None:
                keyid, rule = listed, keyid_rule(listed, entry.public, (files or {}).get(entry.base + ".sec"))
            roles = ", ".join(
                name
                for name, role in sorted(root.meta.roles.items())
                if any(root.meta.keys[k].same_key(entry.public) for k in role.keyids)
            )
        table.add_row(
            Text(visible(entry.base.rsplit("/", 1)[-1])),
            short(keyid),
            SHORT_LABELS[rule],
            entry.public.kind,
            "yes" if entry.private else "no",
            roles,
        )
    return table


def visible(text: str) -> str:
    """Outside text with control and escape characters shown as escapes, never interpreted."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
