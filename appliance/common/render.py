"""Terminal rendering of metadata and key lists (rich).  Output only; no decisions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..core.keyroles import roles_of
from ..core.keysarchive import KeyEntry
from ..core.metadata import Root
from ..core.review import Review
from ..core.waveplan import WaveReview


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
        roles = "" if root is None else ", ".join(sorted(roles_of(root, entry)))
        table.add_row(
            entry.base.rsplit("/", 1)[-1],
            short(entry.keyid),
            entry.public.kind,
            "yes" if entry.private else ("token" if entry.token else "no"),
            roles,
        )
    return table


def literal(value: str) -> Text:
    """Outside text as plain text (never markup); control, format and BiDi characters made visible."""
    shown = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in value)
    return Text(shown)


def wave_targets_table(review: WaveReview) -> Table:
    table = Table(
        title=literal(f"wave {review.wave}: production targets v{review.version} for tag {review.tag}, ")
        + literal(f"expires {review.expires}"),
        title_justify="left",
    )
    for column in ("target", "version", "hardware ids", "bytes"):
        table.add_column(column, overflow="fold")
    table.add_column("sha256", overflow="fold")  # compared whole: wrap, never truncate
    for row in review.rows:
        table.add_row(
            literal(row.name),
            literal(row.version),
            literal(", ".join(row.hardware_ids)),
            str(row.length),
            literal(row.sha256),
        )
    return table


def render_wave(review: WaveReview, out: Console) -> None:
    """Every target, the difference from the tag's production targets, expiry and signature count
    (the production root that checks them is the review's root table)."""
    out.print(wave_targets_table(review))
    base = "none (first wave for this tag)" if review.base_version is None else f"v{review.base_version}"
    out.print(literal(f"difference from the current production targets of tag {review.tag} ({base}):"))
    diff = review.diff
    for label, names in (("added", diff.added), ("removed", diff.removed), ("changed", diff.changed)):
        for name in names:
            out.print(Text(f"  {label}: ") + literal(name))
    if diff.empty:
        out.print("  (no difference)")
    out.print(literal(f"expires: {review.expires}"))
    for keyid in review.signer_keyids:
        out.print(f"signing with offline targets key {keyid}")
    out.print(
        f"signatures after this one (online key {review.online_keyid[:16]} included): "
        f"{review.signatures_after} of {review.threshold} required by the production root "
        f"v{review.prod_root.version}"
    )
    if not review.met:
        out.print("more offline signatures are needed before rollout or completion (waves sign)")
    if review.lacks_delta_stats:
        out.print("note: some CI targets of this version have no static deltas (fioctl warns the same)")


def render_review(review: Review, out: Console | None = None) -> None:
    out = out or console()
    out.rule(f"[bold]{review.title}[/] for factory [bold]{review.factory}[/]")
    out.print(review.request_line)
    out.print(review.station_line)
    out.print(root_table(review.current_root, review.current_root_title))
    for label, lines in review.changes:
        out.print(f"[bold]changes to the {label} root[/]")
        for line in lines:
            out.print(f"  {line}")
    if review.changes:
        out.print(f"new roots signed by: {', '.join(review.new_signers)}")
    for line in review.details:
        out.print(line)
    for key in review.new_keys:
        out.print(f"[bold]new {key.role} key[/]: {key.keyid}")
        out.print(f"  read aloud: {' '.join(key.words)}")
    for blob in review.json_roots:
        out.print_json(blob.decode())
    if review.wave is not None:
        render_wave(review.wave, out)


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
