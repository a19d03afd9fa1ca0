"""Terminal rendering of a wave's review (output only; the decisions are in core/waveplan.py).

Target names, versions and hardware ids come from the server: they are rendered as
rich ``Text`` (never parsed as markup) with control characters shown escaped.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..core.waveplan import WaveReview
from .render import root_table


def literal(value: str) -> Text:
    """Outside text as plain text; control, format and BiDi characters made visible."""
    shown = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in value)
    return Text(shown)


def targets_table(review: WaveReview) -> Table:
    table = Table(
        title=f"wave {review.wave}: production targets v{review.version} for tag {review.tag}, "
        f"expires {review.expires}",
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


def print_wave_review(out: Console, review: WaveReview) -> None:
    out.print(targets_table(review))
    base = "none (first wave for this tag)" if review.base_version is None else f"v{review.base_version}"
    out.print(Text(f"difference from the current production targets of tag {review.tag} ({base}):"))
    diff = review.diff
    for label, names in (("added", diff.added), ("removed", diff.removed), ("changed", diff.changed)):
        for name in names:
            out.print(Text(f"  {label}: ") + literal(name))
    if diff.empty:
        out.print(Text("  (no difference)"))
    out.print(Text(f"expires: {review.expires}"))
    out.print(root_table(review.prod_root, "production root that will check these signatures"))
    for keyid in review.signer_keyids:
        out.print(Text(f"signing with offline targets key {keyid}"))
    out.print(
        Text(
            f"signatures after this one (online key {review.online_keyid[:16]} included): "
            f"{review.signatures_after} of {review.threshold} required by the production root"
        )
    )
    if not review.met:
        out.print(Text("more offline signatures are needed before rollout or completion (waves sign)"))
    if review.lacks_delta_stats:
        out.print(Text("note: some CI targets of this version have no static deltas (fioctl warns the same)"))
