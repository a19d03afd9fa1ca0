"""Plain-text screens: lines and fixed-width tables, without rich.

Commands that only list things or report what they did (``keys``, ``copy-targets``, the
station's ``show-root``, ``expiry``, ``waves list`` and progress lines) print
through ``plain_console()``: importing rich costs more than the whole work of these
commands.  The ceremony review, which needs rich's layout, keeps ``render.console()``.

The literal-text rule is the same as the rich console's (``appliance.core.safetext``):
every string on its way to the terminal is capped, non-printable characters become
escapes, and a terminal that cannot encode UTF-8 gets ASCII.  Nothing here interprets
markup; there is none to interpret.  Table cells are single lines (a line break in a
cell is shown as its escape), so no cell can forge a row.
"""

from __future__ import annotations

import sys
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

from ..core.keyids import SHORT_LABELS, keyid_rule, listed_keyid_rule, rules_legend
from ..core.safetext import MESSAGE_CAP, SHORT_ID, capped_middle, for_terminal, shown

if TYPE_CHECKING:
    from ..core.keysarchive import KeyEntry
    from ..core.metadata import Root

GAP = "  "  # between columns


@dataclass(frozen=True)
class Column:
    name: str
    right: bool = False  # numbers are right-aligned


@dataclass
class PlainTable:
    """A table as values: title, columns, rows of cells, a caption."""

    title: str
    columns: tuple[Column, ...]
    rows: list[tuple[str, ...]] = field(default_factory=list)
    caption: tuple[str, ...] = ()

    def add_row(self, *cells: str) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"{len(cells)} cells for {len(self.columns)} columns")
        self.rows.append(cells)

    def lines(self, clean: Cleaner) -> list[str]:
        """Title, header, a rule, the rows (every cell whole), caption; trailing spaces stripped."""
        header = tuple(clean(c.name) for c in self.columns)
        body = [tuple(clean(cell) for cell in row) for row in self.rows]
        widths = [max(width(cells[i]) for cells in (header, *body)) for i in range(len(self.columns))]

        def line(cells: Sequence[str]) -> str:
            parts = []
            for column, cell, size in zip(self.columns, cells, widths, strict=True):
                pad = " " * (size - width(cell))
                parts.append(pad + cell if column.right else cell + pad)
            return GAP.join(parts).rstrip()

        out = [clean(self.title)] if self.title else []
        out += [line(header), GAP.join("-" * size for size in widths)]
        out += [line(cells) for cells in body]
        out += [clean(line) for line in self.caption]
        return out


class Cleaner:
    """The literal-text rule for one stream (see the module doc)."""

    def __init__(self, encoding: str | None, *, keep_newlines: bool) -> None:
        self.encoding = encoding
        self.keep_newlines = keep_newlines

    def __call__(self, text: str) -> str:
        return for_terminal(capped_middle(text, MESSAGE_CAP * 4), self.encoding, keep_newlines=self.keep_newlines)


def width(text: str) -> int:
    """Terminal columns of ``text`` (after the rule: printable characters only)."""
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


class PlainConsole:
    """Writes lines and ``PlainTable`` values to stdout (or stderr) under the literal-text rule."""

    def __init__(self, *, stderr: bool = False, file: TextIO | None = None) -> None:
        self.stderr = stderr
        self.file = file

    @property
    def stream(self) -> TextIO:
        # Looked up on every write, as rich does, so a redirected sys.stdout is honoured.
        if self.file is not None:
            return self.file
        return sys.stderr if self.stderr else sys.stdout

    @property
    def encoding(self) -> str:
        return getattr(self.stream, "encoding", None) or "utf-8"

    @property
    def ascii_terminal(self) -> bool:
        return not self.encoding.lower().replace("-", "").startswith("utf")

    def print(self, *objects: str | PlainTable) -> None:
        text = Cleaner(self.encoding, keep_newlines=True)
        cell = Cleaner(self.encoding, keep_newlines=False)
        lines: list[str] = []
        for item in objects:
            lines.extend(item.lines(cell) if isinstance(item, PlainTable) else [text(item)])
        stream = self.stream
        stream.write("\n".join(lines) + "\n")
        stream.flush()


def plain_console(stderr: bool = False) -> PlainConsole:
    return PlainConsole(stderr=stderr)


def short(keyid: str) -> str:
    return keyid[:SHORT_ID]


def full_id_lines(keyids: Iterable[str]) -> list[str]:
    """Whole key ids, one per line: each starts with the short id shown in the table."""
    return [f"  {keyid}" for keyid in dict.fromkeys(keyids)]


def root_table(root: Root, title: str) -> PlainTable:
    """The layout of ``render.root_table`` (the review's), as plain text."""
    meta = root.meta
    table = PlainTable(
        f"{title}: v{meta.version}, expires {meta.expires}",
        (
            Column("role"),
            Column("threshold", right=True),
            Column("key id"),
            Column("id rule"),
            Column("type"),
            Column("bits", right=True),
        ),
    )
    for row in root_rows(root):
        table.add_row(*row)
    table.caption = root_caption(root)
    return table


def root_rows(root: Root) -> list[tuple[str, str, str, str, str, str]]:
    """One row per role key: role and threshold on its first key, short id, id rule, type, bits
    (the same cells in the plain and the rich root table)."""
    meta = root.meta
    rows = []
    for name in sorted(meta.roles):
        role = meta.roles[name]
        for index, keyid in enumerate(role.keyids):
            key = meta.keys[keyid]
            rows.append(
                (
                    shown(name) if index == 0 else "",
                    str(role.threshold) if index == 0 else "",
                    short(keyid),
                    SHORT_LABELS[keyid_rule(keyid, key)],
                    key.kind,
                    str(key.bits),
                )
            )
    return rows


def root_caption(root: Root) -> tuple[str, str]:
    signers = ", ".join(short(s.keyid) for s in root.signatures) or "(none)"
    return f"signed by: {signers}", f"id rules: {rules_legend(root.meta.keys)}"


def print_root(out: PlainConsole, root: Root, title: str, *, full_ids: bool = False) -> None:
    """A root as a table of short ids; ``full_ids`` adds each whole id on a line of its own."""
    out.print(root_table(root, title))
    if full_ids:
        keyids = [keyid for name in sorted(root.meta.roles) for keyid in root.meta.roles[name].keyids]
        out.print("key ids in full:", *full_id_lines(keyids))


def key_table(entries: Iterable[KeyEntry], root: Root | None, files: Mapping[str, bytes] | None = None) -> PlainTable:
    """File names whole (the officer compares them), key ids as short prefixes."""
    from ..core.keyroles import roles_of

    table = PlainTable(
        "keys in tarball",
        (
            Column("file"),
            Column("key id"),
            Column("id rule"),
            Column("type"),
            Column("private"),
            Column("roles in root"),
        ),
    )
    for entry in entries:
        roles = "" if root is None else ", ".join(sorted(roles_of(root, entry)))
        listed = root.meta.keyid_for(entry.public) if root is not None else None
        keyid, rule = listed_keyid_rule(entry.keyid, entry.public, listed, (files or {}).get(entry.base + ".sec"))
        table.add_row(
            shown(entry.base.rsplit("/", 1)[-1], MESSAGE_CAP),
            short(keyid),
            SHORT_LABELS[rule],
            entry.public.kind,
            "yes" if entry.private else ("token" if entry.token else "no"),
            roles,
        )
    return table
