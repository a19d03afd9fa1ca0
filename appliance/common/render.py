"""Terminal rendering of metadata and key lists (rich).  Output only; no decisions.

Every screen of both halves is printed by the console ``console()`` returns, which
applies the literal-text rule of ``appliance.core.safetext`` to everything it shows:
markup, emoji codes and highlighting are never interpreted, non-printable characters
reach the terminal as escapes, and a terminal that cannot encode UTF-8 gets ASCII.
Program text that wants emphasis builds a ``rich.text.Text`` with a style
(``styled``); it never writes markup.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from rich import box
from rich.console import Console, ConsoleOptions, RenderableType
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from ..core.metadata import Root
from ..core.review import CHANGE_LINES, SUMMARY_MAX_LINES, ResignTable, Review
from ..core.safetext import MESSAGE_CAP, SHORT_ID, ascii_only, capped_middle, shown, visible
from ..core.waveplan import WaveReview
from .plaintext import root_caption, root_rows


class LiteralConsole(Console):
    """A rich console that shows every string literally (see the module doc)."""

    def __init__(self, *, stderr: bool = False, **options: Any) -> None:
        super().__init__(stderr=stderr, highlight=False, soft_wrap=False, markup=False, emoji=False, **options)

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


def short(keyid: str) -> str:
    return keyid[:SHORT_ID]


def print_plain(out: Console, line: str) -> None:
    """One already laid out line, shown as it is (no markup, no re-wrapping)."""
    out.print(Text(line), no_wrap=True, overflow="ignore", crop=False)


def full_id_lines(keyids: Iterable[str]) -> list[Text]:
    """Whole key ids, one per line and never wrapped: each starts with the short id shown above."""
    return [Text(f"  {keyid}", no_wrap=True, overflow="ignore") for keyid in dict.fromkeys(keyids)]


def root_table(root: Root, title: str) -> Table:
    meta = root.meta
    table = Table(title=Text(f"{title}: v{meta.version}, expires {meta.expires}"), title_justify="left")
    table.add_column("role")
    table.add_column("threshold", justify="right")
    table.add_column("key id", no_wrap=True)  # a short prefix: never split mid-id
    table.add_column("id rule")
    table.add_column("type")
    table.add_column("bits", justify="right")
    for row in root_rows(root):
        table.add_row(*row)
    table.caption = Text("\n".join(root_caption(root)))
    table.caption_justify = "left"
    return table


def root_key_ids(root: Root) -> list[str]:
    return [keyid for name in sorted(root.meta.roles) for keyid in root.meta.roles[name].keyids]


def print_root(out: Console, root: Root, title: str, *, full_ids: bool = False) -> None:
    """A root as a table of short ids; ``full_ids`` adds each whole id on a line of its own."""
    out.print(root_table(root, title))
    if full_ids:
        out.print("key ids in full:")
        for line in full_id_lines(root_key_ids(root)):
            out.print(line)


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
    for column in ResignTable.COLUMNS:
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
        out.print(f"signing with offline targets key {short(keyid)}")
        out.print(Text(f"  {keyid}", no_wrap=True, overflow="ignore"))  # whole, never split
    out.print(
        f"signatures after this one (online key {review.online_keyid[:16]} included): "
        f"{review.signatures_after} of {review.threshold} required by the production root "
        f"v{review.prod_root.version}"
    )
    if not review.met:
        out.print("more offline signatures are needed before rollout or completion (waves sign)")
    if review.lacks_delta_stats:
        out.print("note: some CI targets of this version have no static deltas (fioctl warns the same)")


# --- the review: details (paged) and the summary kept above the prompt -------------------------


def render_review_details(review: Review, out: Console, *, full_ids: bool = False) -> None:
    """Everything the officer may read before the summary: roots, the whole diff, targets, JSON."""
    out.rule(styled((review.title, "bold"), " for factory ", (shown(review.factory), "bold"), ": details"))
    for part in review.request_line.split("  "):
        out.print(shown(part, MESSAGE_CAP))
    out.print(Text(f"{review.station_line}, words:"))
    out.print(Text(f"  {' '.join(review.station_words)}"))
    roots = review.current_roots or ((review.current_root_title, review.current_root),)
    for title, root in roots:
        print_root(out, root, title, full_ids=full_ids)
    for label, lines in review.changes:
        out.print(Text(f"changes to the {label} root", style="bold"))
        for line in lines:
            out.print(Text(f"  {shown(line, MESSAGE_CAP)}"))
    if review.changes:
        out.print(Text(f"new roots signed by: {', '.join(review.new_signers)}"))
    for line in review.details:
        out.print(Text(shown(line, MESSAGE_CAP)))
    for key in review.new_keys:
        out.print(Text(f"new {key.role} key: {short(key.keyid)}", style="bold"))
        out.print(Text(f"  {key.keyid}", no_wrap=True, overflow="ignore"))
        out.print(Text(f"  read aloud: {' '.join(key.words)}"))
    for blob in review.json_roots:
        out.print_json(blob.decode())
    if review.wave is not None:
        render_wave(review.wave, out)
    if review.resigned is not None:
        out.print(resign_rich_table(review.resigned))


def review_summary(review: Review, *, full_ids: bool = False) -> list[Text]:
    """The decisive facts, at most ``SUMMARY_MAX_LINES`` lines of at most 80 columns."""
    lines = [
        Text(f"== confirm: {review.title} for factory {shown(review.factory)} ", style="bold"),
        Text(f"request    {review.request_id}  sequence {review.sequence}"),
        Text(f"station    {review.station_fingerprint[:SHORT_ID]}  words:"),
        Text(f"           {' '.join(review.station_words)}"),
    ]
    changes = list(review.what_changes)
    if len(changes) > CHANGE_LINES:
        changes = [*changes[: CHANGE_LINES - 1], f"... and {len(changes) - CHANGE_LINES + 1} more (see details)"]
    for index, change in enumerate(changes or ["(nothing listed)"]):
        lines.append(Text(f"{'changes' if index == 0 else '':<11}{shown(change, MESSAGE_CAP)}", overflow="fold"))
    for key in review.new_keys:
        lines.append(Text(f"new key    {key.role} {key.keyid if full_ids else short(key.keyid)}", no_wrap=True))
        lines.append(Text(f"read aloud {' '.join(key.words)}", style="bold"))
    return lines[:SUMMARY_MAX_LINES]


def render_review(
    review: Review,
    out: Console | None = None,
    *,
    full_ids: bool = False,
    pager: Callable[[list[str]], None] | None = None,
    summary: bool = True,
) -> None:
    """Details first (through ``pager`` when given: it shows the lines page by page), then
    the summary, so the summary ends directly above the confirmation prompt."""
    out = out or console()
    if pager is not None:
        pager(details_lines(review, out.width, full_ids=full_ids, encoding=out.encoding))
    else:
        render_review_details(review, out, full_ids=full_ids)
    if summary:
        for line in review_summary(review, full_ids=full_ids):
            out.print(line)


class _Capture(io.StringIO):
    """Text a console writes for paging, drawn for the real terminal's encoding (ASCII boxes on ASCII)."""

    def __init__(self, encoding: str) -> None:
        super().__init__()
        self._encoding = encoding

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._encoding


def details_lines(review: Review, width: int, *, full_ids: bool = False, encoding: str = "utf-8") -> list[str]:
    """The details as the lines a terminal ``width`` columns wide would show (for paging)."""
    capture = LiteralConsole(file=_Capture(encoding), width=width, color_system=None)
    render_review_details(review, capture, full_ids=full_ids)
    text = str(capture.file.getvalue())  # type: ignore[attr-defined]
    return text.rstrip("\n").split("\n")


def transcript_table(records: Sequence[dict[str, Any]]) -> Table:
    """One row per record; times in full (never cut), key ids as short prefixes."""
    table = Table(
        title=f"ceremony transcript ({len(records)} entries, all links and signatures verified)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("time (UTC)", no_wrap=True, min_width=20)
    table.add_column("operation", overflow="fold", min_width=14)
    table.add_column("factory", overflow="fold")
    table.add_column("new keys", no_wrap=True)
    table.add_column("request", no_wrap=True)
    for record in records:
        new_keys = record.get("new_keys", [])
        keys = [f"{k.get('role')} {str(k.get('keyid'))[:SHORT_ID]}" for k in new_keys if isinstance(k, dict)]
        if not keys and isinstance(record.get("keyid"), str):
            keys = [f"{record.get('role') or 'key'} {str(record.get('keyid'))[:SHORT_ID]}"]
        request = record.get("request_id")
        operation = str(record.get("operation"))
        if record.get("from_version") is not None:
            operation += f" from v{record.get('from_version')}"
        table.add_row(
            shown(str(record.get("time"))),
            shown(operation),
            shown(str(record.get("factory", ""))),
            Text("\n".join(shown(k) for k in keys)),
            shown(str(request)[:8] if request else ""),
        )
    return table
