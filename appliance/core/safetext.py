"""The one rule for showing text that came from outside (bundles, tarballs, servers, files).

Outside text is shown literally, never interpreted: every character that is not
printable (control characters and terminal escapes such as ESC, CSI, OSC and C1
0x80-0x9f, BiDi overrides and isolates U+202A-U+202E and U+2066-U+2069, zero-width
characters U+200B-U+200F, U+2060 and U+FEFF, line and paragraph separators, unusual
spaces, unassigned code points) is replaced by its escape, ``\\x1b``, ``\\u202e``, so the
officer sees that it is there and the terminal never acts on it.  Long names are cut
to a cap with an ellipsis and their full length.  Markup is a property of the
renderer, not of the text: the console that shows these strings never parses markup
(``appliance.common.render``).  Pure functions; no I/O.
"""

from __future__ import annotations

NAME_CAP = 200  # characters of an outside name echoed in a message
MESSAGE_CAP = 2000  # characters of one error message or screen string, after the rule
SHORT_ID = 16  # hex digits of a key id shown by default; --full-ids adds the whole id

# Program text uses a few typographic characters; on a terminal that cannot encode them
# these stand in, and anything else outside ASCII is shown as its escape.
_ASCII_STAND_INS = {"\u2026": "...", "\u2014": "-", "\u2013": "-", "\u2192": "->", "\u00b7": "."}


_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(ch: str) -> str:
    if ch in _SHORT:
        return _SHORT[ch]
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def visible(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` with every non-printable character replaced by its escape.

    ``keep_newlines`` lets line breaks through (for program text that spans lines); a
    name or other single value from outside keeps them escaped, so it cannot forge a line.
    """
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or (keep_newlines and ch == "\n") else _escape(ch) for ch in text)


def ascii_only(text: str) -> str:
    """``text`` for a terminal that can only encode ASCII: stand-ins, then escapes."""
    if text.isascii():
        return text
    return "".join(ch if ch.isascii() else _ASCII_STAND_INS.get(ch) or _escape(ch) for ch in text)


def capped(text: str, limit: int = NAME_CAP) -> str:
    """At most ``limit`` characters of ``text``, then an ellipsis and the full length."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\u2026 ({len(text)} characters)"


def capped_middle(text: str, limit: int = MESSAGE_CAP) -> str:
    """Keep both ends of an over-long message (where the subject and the reason are)."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\u2026[{len(text) - 2 * half} characters omitted]\u2026{text[-half:]}"


def quoted(name: str, limit: int = NAME_CAP) -> str:
    """An outside name for a message: capped, quoted, non-printables escaped (as ``repr``)."""
    if len(name) <= limit:
        return repr(name)
    return f"{name[:limit]!r}\u2026 ({len(name)} characters)"


def shown(text: str, limit: int = NAME_CAP) -> str:
    """An outside value for a screen cell or line: escaped and capped, unquoted."""
    return visible(capped(text, limit))


def for_terminal(text: str, encoding: str | None, *, keep_newlines: bool = True) -> str:
    """``text`` under the rule, in ASCII unless ``encoding`` (the stream's) is a UTF one."""
    safe = visible(text, keep_newlines=keep_newlines)
    return safe if (encoding or "ascii").lower().replace("-", "").startswith("utf") else ascii_only(safe)
