"""Terminal rendering of metadata and key lists (rich).  Output only; no decisions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..core.keyids import DER, RULE_LABELS, SHORT_LABELS, keyid_rule
from ..core.keyroles import roles_of
from ..core.keysarchive import KeyEntry
from ..core.metadata import Root, RootMeta
from ..core.review import ResignTable, Review, WaveTable


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
        roles = "" if root is None else ", ".join(sorted(roles_of(root, entry)))
        keyid, rule = entry.keyid, DER
        listed = root.meta.keyid_for(entry.public) if root is not None else None
        if listed is not None:
            keyid, rule = listed, keyid_rule(listed, entry.public, (files or {}).get(entry.base + ".sec"))
        table.add_row(
            Text(visible(entry.base.rsplit("/", 1)[-1])),
            short(keyid),
            SHORT_LABELS[rule],
            entry.public.kind,
            "yes" if entry.private else ("token" if entry.token else "no"),
            roles,
        )
    return table


def visible(text: str) -> str:
    """Outside text with control and escape characters shown as escapes, never interpreted."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def literal(text: str) -> str:
    """Outside text made safe for a markup line: escapes visible, brackets never markup."""
    from rich.markup import escape

    return escape(visible(text))


def wave_rich_table(wave: WaveTable) -> Table:
    table = Table(title=wave.title, title_justify="left")
    for column in ("target", "version", "hardware ids", "tags", "bytes"):
        table.add_column(column)
    for line in wave.lines:
        table.add_row(line.name, line.version, ", ".join(line.hardware_ids), ", ".join(line.tags), str(line.length))
    return table


def resign_rich_table(resigned: ResignTable) -> Table:
    table = Table(title="production targets to re-sign", title_justify="left")
    for column in ResignTable.COLUMNS:
        table.add_column(column, overflow="fold")  # dates are compared whole: wrap, never truncate
    for tag, version, count, before, after, gained in resigned.rows:
        # A tag is outside text: shown literally, never as markup.
        table.add_row(Text(tag), str(version), str(count), before, after, str(gained))
    return table


def render_review(review: Review, out: Console | None = None) -> None:
    out = out or console()
    out.rule(f"[bold]{review.title}[/] for factory [bold]{review.factory}[/]")
    out.print(review.request_line)
    out.print(review.station_line)
    out.print(root_table(review.current_ci, "current CI root"))
    for label, lines in review.changes:
        out.print(f"[bold]changes to the {label} root[/]")
        for line in lines:
            out.print(f"  {line}", markup=False)  # outside text: shown literally
    if review.changes:
        out.print(f"new roots signed by: {', '.join(review.new_signers)}", markup=False)
    for line in review.details:
        out.print(line, markup=False)
    for key in review.new_keys:
        out.print(f"[bold]new {key.role} key[/]: {key.keyid}")
        out.print(f"  read aloud: {' '.join(key.words)}")
    for blob in review.json_roots:
        out.print_json(blob.decode())
    if review.wave is not None:
        out.print(wave_rich_table(review.wave))
    if review.resigned is not None:
        out.print(resign_rich_table(review.resigned))


def transcript_table(records: Sequence[dict[str, Any]]) -> Table:
    table = Table(
        title=f"ceremony transcript ({len(records)} entries, all links and signatures verified)", title_justify="left"
    )
    for column in ("time", "operation", "factory", "from v", "new keys", "request"):
        table.add_column(column)
    for record in records:
        keys = ", ".join(f"{k.get('role')} {str(k.get('keyid'))[:16]}" for k in record.get("new_keys", []))
        table.add_row(
            str(record.get("time")),
            str(record.get("operation")),
            str(record.get("factory")),
            str(record.get("from_version")),
            keys,
            str(record.get("request_id"))[:16],
        )
    return table
