"""Terminal rendering of the ceremony review (rich).  Output only; no decisions.

Screens that need rich's layout (the review) are printed by the console ``console()``
returns; lists and reports use the plain console of ``appliance.common.plaintext``,
which applies the same rule without importing rich.  The rich console
applies the literal-text rule of ``appliance.core.safetext`` to everything it shows:
markup, emoji codes and highlighting are never interpreted, non-printable characters
reach the terminal as escapes, and a terminal that cannot encode UTF-8 gets ASCII.
Program text that wants emphasis builds a ``rich.text.Text`` with a style
(``styled``); it never writes markup.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from rich.console import Console, ConsoleOptions, RenderableType
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from ..core.safetext import MESSAGE_CAP, ascii_only, capped_middle, shown, visible
from . import plaintext
from .plaintext import PlainTable

if TYPE_CHECKING:  # the review's modules are loaded by the ceremony that builds one
    from ..core.metadata import Root
    from ..core.review import ResignTable, Review
    from ..core.waveplan import WaveReview


class LiteralConsole(Console):
    """A rich console that shows every string literally (see the module doc)."""

    def __init__(self, *, stderr: bool = False) -> None:
        super().__init__(stderr=stderr, highlight=False, soft_wrap=False, markup=False, emoji=False)

    @property
    def ascii_terminal(self) -> bool:
        return not self.encoding.lower().replace("-", "").startswith("utf")

    def clean(self, text: str) -> str:
        """The rule applied to one piece of text on its way to the terminal."""
        safe = visible(capped_middle(text, MESSAGE_CAP * 4), keep_newlines=True)
        return ascii_only(safe) if self.ascii_terminal else safe

    def render_str(self, text: str, **kwargs: Any) -> Text:
        kwargs.update(markup=False, emoji=False, highlight=False)
        return super().render_str(self.clean(text), **kwargs)

    def render(self, renderable: RenderableType, options: ConsoleOptions | None = None) -> Iterable[Segment]:
        # Text objects, JSON and tables reach the terminal as segments: the rule applies there too.
        for segment in super().render(renderable, options):
            if segment.control or not segment.text:
                yield segment
            else:
                text = self.clean(segment.text)
                yield segment if text == segment.text else Segment(text, segment.style, segment.control)


def console(stderr: bool = False) -> LiteralConsole:
    return LiteralConsole(stderr=stderr)


def styled(*parts: str | tuple[str, str]) -> Text:
    """A line of program text: plain strings and (text, style) pairs, never markup."""
    line = Text()
    for part in parts:
        if isinstance(part, tuple):
            line.append(part[0], style=part[1])
        else:
            line.append(part)
    return line


def rich_table(plain: PlainTable) -> Table:
    """A table value of ``plaintext`` drawn by rich (the review's tables)."""
    table = Table(title=plain.title, title_justify="left")
    for column in plain.columns:
        table.add_column(
            column.name, justify="right" if column.right else "left", overflow="fold" if column.fold else "ellipsis"
        )
    for row in plain.rows:
        table.add_row(*row)
    if plain.caption:
        table.caption = plain.caption
        table.caption_justify = "left"
    return table


def root_table(root: Root, title: str) -> Table:
    return rich_table(plaintext.root_table(root, title))


def wave_targets_table(review: WaveReview) -> Table:
    table = Table(
        # The wave name, tag, expiry, target names, versions and hardware ids come from the request.
        title=shown(
            f"wave {review.wave}: production targets v{review.version} for tag {review.tag}, expires {review.expires}",
            MESSAGE_CAP,
        ),
        title_justify="left",
    )
    for column in ("target", "version", "hardware ids", "bytes"):
        table.add_column(column, overflow="fold")
    table.add_column("sha256", overflow="fold")  # compared whole: wrap, never truncate
    for row in review.rows:
        table.add_row(
            shown(row.name, MESSAGE_CAP),
            shown(row.version),
            shown(", ".join(row.hardware_ids), MESSAGE_CAP),
            str(row.length),
            shown(row.sha256),
        )
    return table


def resign_rich_table(resigned: ResignTable) -> Table:
    table = Table(title="production targets to re-sign", title_justify="left")
    for column in resigned.COLUMNS:
        table.add_column(column, overflow="fold")  # dates are compared whole: wrap, never truncate
    for tag, version, count, before, after, gained in resigned.rows:
        # A tag is outside text: shown literally, never as markup.
        table.add_row(shown(tag), str(version), str(count), before, after, str(gained))
    return table


def render_wave(review: WaveReview, out: Console) -> None:
    """Every target, the difference from the tag's production targets, expiry and signature count
    (the production root that checks them is the review's root table)."""
    out.print(wave_targets_table(review))
    base = "none (first wave for this tag)" if review.base_version is None else f"v{review.base_version}"
    out.print(f"difference from the current production targets of tag {shown(review.tag)} ({base}):")
    diff = review.diff
    for label, names in (("added", diff.added), ("removed", diff.removed), ("changed", diff.changed)):
        for name in names:
            out.print(f"  {label}: {shown(name, MESSAGE_CAP)}")
    if diff.empty:
        out.print("  (no difference)")
    out.print(f"expires: {shown(review.expires)}")
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
    out.rule(styled((review.title, "bold"), " for factory ", (shown(review.factory), "bold")))
    out.print(shown(review.request_line, MESSAGE_CAP))
    out.print(review.station_line)
    out.print(root_table(review.current_root, review.current_root_title))
    for label, lines in review.changes:
        out.print(styled((f"changes to the {label} root", "bold")))
        for line in lines:
            out.print(f"  {shown(line, MESSAGE_CAP)}")
    if review.changes:
        out.print(f"new roots signed by: {', '.join(review.new_signers)}", markup=False)
    for line in review.details:
        out.print(shown(line, MESSAGE_CAP))
    for key in review.new_keys:
        out.print(styled((f"new {key.role} key", "bold"), f": {key.keyid}"))
        out.print(f"  read aloud: {' '.join(key.words)}")
    for blob in review.json_roots:
        out.print_json(blob.decode())
    if review.wave is not None:
        render_wave(review.wave, out)
    if review.resigned is not None:
        out.print(resign_rich_table(review.resigned))
