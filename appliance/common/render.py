"""Terminal rendering of metadata and key lists (rich).  Output only; no decisions."""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console
from rich.table import Table

from ..core.keysarchive import KeyEntry
from ..core.metadata import Root


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
                key.kind,
                str(key.bits),
            )
    signers = ", ".join(short(s.keyid) for s in root.signatures) or "(none)"
    table.caption = f"signed by: {signers}"
    table.caption_justify = "left"
    return table


def key_table(entries: Iterable[KeyEntry], root: Root | None) -> Table:
    table = Table(title="keys in tarball", title_justify="left")
    table.add_column("file")
    table.add_column("key id", overflow="fold")  # officers compare whole ids: wrap, never truncate
    table.add_column("type")
    table.add_column("private")
    table.add_column("roles in root")
    for entry in entries:
        roles = ""
        if root is not None:
            roles = ", ".join(
                name
                for name, role in sorted(root.meta.roles.items())
                if any(root.meta.keys[k].same_key(entry.public) for k in role.keyids)
            )
        table.add_row(
            entry.base.rsplit("/", 1)[-1],
            short(entry.keyid),
            entry.public.kind,
            "yes" if entry.private else ("token" if entry.token else "no"),
            roles,
        )
    return table
