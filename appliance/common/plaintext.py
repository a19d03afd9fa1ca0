"""Plain-text screens: lines and fixed-width tables, without rich.

Commands that only list things or report what they did (``keys``, ``copy-targets``,
``transcript``, ``init``/``pair``, the station's ``show-root``, export and import) print
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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from ..core.safetext import MESSAGE_CAP, capped_middle, for_terminal, shown

if TYPE_CHECKING:
    from ..core.keysarchive import KeyEntry
    from ..core.metadata import Root

GAP = "  "  # between columns


@dataclass(frozen=True)
class Column:
    name: str
    right: bool = False  # numbers are right-aligned
    fold: bool = False  # the rich review wraps these cells instead of cutting them (key ids, dates)


@dataclass
class PlainTable:
    """A table as values: title, columns, rows of cells, a caption.  Drawn by either renderer."""

    title: str
    columns: tuple[Column, ...]
    rows: list[tuple[str, ...]] = field(default_factory=list)
    caption: str = ""

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
        if self.caption:
            out.append(clean(self.caption))
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
    return keyid[:16]


def root_table(root: Root, title: str) -> PlainTable:
    meta = root.meta
    table = PlainTable(
        f"{title}: version {meta.version}, expires {meta.expires}",
        (Column("role"), Column("threshold", right=True), Column("key id", fold=True), Column("type"),
         Column("bits", right=True)),
    )  # fmt: skip
    for name in sorted(meta.roles):
        role = meta.roles[name]
        for index, keyid in enumerate(role.keyids):
            key = meta.keys[keyid]
            table.add_row(
                shown(name) if index == 0 else "",
                str(role.threshold) if index == 0 else "",
                shown(keyid),  # officers compare whole ids: never cut
                key.kind,
                str(key.bits),
            )
    signers = ", ".join(short(s.keyid) for s in root.signatures) or "(none)"
    table.caption = f"signed by: {signers}"
    return table


def key_table(entries: Iterable[KeyEntry], root: Root | None) -> PlainTable:
    from ..core.keyroles import roles_of

    table = PlainTable(
        "keys in tarball",
        (Column("file"), Column("key id"), Column("type"), Column("private"), Column("roles in root")),
    )
    for entry in entries:
        roles = "" if root is None else ", ".join(sorted(roles_of(root, entry)))
        table.add_row(
            shown(entry.base.rsplit("/", 1)[-1]),
            short(entry.keyid),
            entry.public.kind,
            "yes" if entry.private else ("token" if entry.token else "no"),
            roles,
        )
    return table


def transcript_table(records: Sequence[dict[str, Any]]) -> PlainTable:
    table = PlainTable(
        f"ceremony transcript ({len(records)} entries, all links and signatures verified)",
        tuple(Column(name) for name in ("time", "operation", "factory", "from v", "new keys", "request")),
    )
    for record in records:
        keys = ", ".join(f"{k.get('role')} {str(k.get('keyid'))[:16]}" for k in record.get("new_keys", []))
        table.add_row(
            shown(str(record.get("time"))),
            shown(str(record.get("operation"))),
            shown(str(record.get("factory"))),
            shown(str(record.get("from_version"))),
            shown(keys, MESSAGE_CAP),
            shown(str(record.get("request_id"))[:16]),
        )
    return table
