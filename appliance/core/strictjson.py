"""Strict JSON parsing and the canonical JSON form that Foundries devices verify.

Parsing refuses what an attacker could use to make two parsers disagree: duplicate
object keys, floats, NaN/Infinity, invalid UTF-8, oversize input and deep nesting.

Canonical form (what signatures cover): objects with keys sorted by byte value, no
insignificant whitespace, integers only.  The signer (fioctl, Go's docker canonical
JSON) and the verifier (aktualizr, jsoncpp's compact writer) escape strings
differently outside a common subset, so signed strings are restricted to that
subset: printable ASCII except ``<``, ``>``, ``&``, plus ``\\n``, ``\\r``, ``\\t``.
Within it both produce exactly the bytes emitted here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

from .errors import InputFormatError

JsonValue = Any  # dict[str, JsonValue] | list[JsonValue] | str | int | bool | None
JsonObject = dict[str, Any]

DEFAULT_MAX_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 64
_INT64 = 2**63


def _fail(message: str) -> NoReturn:
    raise InputFormatError(message)


def _reject_float(text: str) -> NoReturn:
    _fail(f"JSON contains a floating point number ({text[:20]}); only integers are allowed")


def _reject_constant(text: str) -> NoReturn:
    _fail(f"JSON contains the non-standard constant {text}")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> JsonObject:
    obj: JsonObject = {}
    for key, value in pairs:
        if key in obj:
            _fail(f"JSON object has a duplicate key {key!r}")
        obj[key] = value
    return obj


def _check_depth(text: str, limit: int) -> None:
    """Reject nesting deeper than ``limit`` before the recursive parser sees it."""
    depth = 0
    in_string = False
    escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                _fail(f"JSON is nested deeper than {limit} levels")
        elif ch in "]}":
            depth -= 1


def loads(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, what: str = "input") -> JsonValue:
    """Parse ``data`` strictly; raise InputFormatError naming ``what`` on any defect."""
    if len(data) > max_bytes:
        _fail(f"{what} is {len(data)} bytes, more than the {max_bytes} allowed")
    try:
        text = data.decode("utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise InputFormatError(f"{what} is not valid UTF-8 (byte {exc.start})") from None
    if text.startswith("\ufeff"):
        _fail(f"{what} starts with a byte order mark")
    try:
        _check_depth(text, MAX_DEPTH)
        return json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_float=_reject_float,
            parse_constant=_reject_constant,
        )
    except InputFormatError as exc:
        raise InputFormatError(f"{what}: {exc.message}") from None
    except (ValueError, RecursionError) as exc:
        raise InputFormatError(f"{what} is not valid JSON: {exc}") from None


def loads_object(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, what: str = "input") -> JsonObject:
    value = loads(data, max_bytes=max_bytes, what=what)
    if not isinstance(value, dict):
        _fail(f"{what} must be a JSON object")
    return value


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def check_signable_string(value: str) -> str | None:
    """Return why ``value`` cannot appear in signed metadata, or None if it can."""
    for index, ch in enumerate(value):
        code = ord(ch)
        if ch in "\n\r\t":
            continue
        if code < 0x20 or code > 0x7E:
            return f"character U+{code:04X} at offset {index} is outside printable ASCII"
        if ch in "<>&":
            return f"character {ch!r} at offset {index} is escaped differently by signer and device"
    return None


def _encode_string(value: str, out: list[str]) -> None:
    problem = check_signable_string(value)
    if problem is not None:
        _fail(f"string cannot be signed: {problem}")
    out.append('"')
    out.append("".join(_ESCAPES.get(ch, ch) for ch in value))
    out.append('"')


def _encode(value: JsonValue, out: list[str], depth: int) -> None:
    if depth > MAX_DEPTH:
        _fail("value is nested too deeply to sign")
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        if not -_INT64 <= value < _INT64:
            _fail(f"integer {value} does not fit in 64 bits")
        out.append(str(value))
    elif isinstance(value, str):
        _encode_string(value, out)
    elif isinstance(value, Mapping):
        out.append("{")
        keys = list(value.keys())
        for key in keys:
            if not isinstance(key, str):
                _fail("object keys must be strings")
        # Byte order of UTF-8 equals code point order; keys are ASCII-checked anyway.
        for index, key in enumerate(sorted(keys)):
            if index:
                out.append(",")
            _encode_string(key, out)
            out.append(":")
            _encode(value[key], out, depth + 1)
        out.append("}")
    elif isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _encode(item, out, depth + 1)
        out.append("]")
    elif isinstance(value, float):
        _fail("floating point numbers cannot be signed")
    else:
        _fail(f"type {type(value).__name__} is not JSON")


def canonical(value: JsonValue) -> bytes:
    """The exact bytes a Foundries signature covers."""
    out: list[str] = []
    _encode(value, out, 0)
    return "".join(out).encode("ascii")


def dumps_pretty(value: JsonValue) -> bytes:
    """Human-readable JSON for files people may open; never used for signing."""
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=True) + "\n").encode("ascii")


def dumps_compact(value: JsonValue) -> bytes:
    """Compact JSON as fioctl's json.Marshal writes it (used for key files and uploads)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=True).encode("ascii")
