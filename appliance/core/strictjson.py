"""Strict JSON parsing and the canonical JSON form that Foundries devices verify.

Parsing refuses what an attacker could use to make two parsers disagree: duplicate
object keys, floats, NaN/Infinity, invalid UTF-8, oversize input and deep nesting.

Canonical form (what signatures cover): objects with keys sorted by byte value, no
insignificant whitespace, integers only.  The signer (fioctl: foundriesio/go canonical
JSON, which escapes only ``\\``, ``"``, ``\\n``, ``\\r``, ``\\t``) and the verifier (aktualizr:
jsoncpp's compact writer, which also escapes ``\\b``, ``\\f``, other control characters and
non-ASCII) agree byte for byte on printable ASCII plus ``\\n``, ``\\r``, ``\\t`` -- ``<``,
``>`` and ``&`` included, which both write raw -- so signed strings are restricted to that
subset (bundle-spec.md §1.3).  Within it both produce exactly the bytes emitted here.
"""

from __future__ import annotations

import json
import re
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
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                _fail(f"JSON object has a duplicate key {key!r}")
            seen.add(key)
    return obj


_CONTAINER_TYPES = (dict, list)


def _check_depth(value: JsonValue, limit: int) -> None:
    """Reject nesting deeper than ``limit``, one level of containers at a time.

    The C parser itself stops at the interpreter's recursion limit (RecursionError,
    reported as the same defect), so the text needs no pass of its own before parsing.
    """
    level = [value] if type(value) in _CONTAINER_TYPES else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            _fail(f"JSON is nested deeper than {limit} levels")
        below: list[Any] = []
        for item in level:
            for child in item.values() if type(item) is dict else item:
                if type(child) in _CONTAINER_TYPES:
                    below.append(child)
        level = below


def loads(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, what: str = "input") -> JsonValue:
    """Parse ``data`` strictly; raise InputFormatError naming ``what`` on any defect."""
    if len(data) > max_bytes:
        _fail(f"{what} is {len(data)} bytes, more than the {max_bytes} allowed")
    try:
        text = data.decode("utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise InputFormatError(f"{what} is not valid UTF-8 (byte {exc.start})") from exc
    if text.startswith("\ufeff"):
        _fail(f"{what} starts with a byte order mark")
    try:
        value = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_float=_reject_float,
            parse_constant=_reject_constant,
        )
        # A text with no more opening brackets than the limit cannot nest deeper (brackets
        # inside strings only make this bound safer), which spares small documents the walk.
        if text.count("{") + text.count("[") > MAX_DEPTH:
            _check_depth(value, MAX_DEPTH)
        return value
    except InputFormatError as exc:
        raise InputFormatError(f"{what}: {exc.message}") from exc
    except RecursionError as exc:
        raise InputFormatError(f"{what}: JSON is nested deeper than {MAX_DEPTH} levels") from exc
    except ValueError as exc:
        raise InputFormatError(f"{what} is not valid JSON: {exc}") from exc


def loads_object(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, what: str = "input") -> JsonObject:
    value = loads(data, max_bytes=max_bytes, what=what)
    if not isinstance(value, dict):
        _fail(f"{what} must be a JSON object")
    return value


def check_signable_string(value: str) -> str | None:
    """Return why ``value`` cannot appear in signed metadata, or None if it can."""
    for index, ch in enumerate(value):
        code = ord(ch)
        if ch in "\n\r\t":
            continue
        if code < 0x20 or code > 0x7E:
            return (
                f"character U+{code:04X} at offset {index} is outside printable ASCII"
                " (fioctl and devices encode it differently)"
            )
    return None


_UNSIGNABLE = re.compile(r"[^\x20-\x7e\n\r\t]")


def _check_signable(value: str) -> None:
    if _UNSIGNABLE.search(value):
        _fail(f"string cannot be signed: {check_signable_string(value)}")


def _validate(value: JsonValue) -> None:
    """Everything canonical() refuses, checked without recursion; strings by one regex each."""
    stack: list[tuple[JsonValue, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            _fail("value is nested too deeply to sign")
        if isinstance(item, str):
            _check_signable(item)
        elif isinstance(item, dict):
            for key, inner in item.items():
                if not isinstance(key, str):
                    _fail("object keys must be strings")
                _check_signable(key)
                stack.append((inner, depth + 1))
        elif isinstance(item, (list, tuple)):
            stack.extend((inner, depth + 1) for inner in item)
        elif item is None or isinstance(item, bool):
            continue
        elif isinstance(item, int):
            if not -_INT64 <= item < _INT64:
                _fail(f"integer {item} does not fit in 64 bits")
        elif isinstance(item, float):
            _fail("floating point numbers cannot be signed")
        else:
            _fail(f"type {type(item).__name__} is not JSON")


_PLAIN_TYPES = frozenset({str, int, bool, type(None), dict, list, tuple})
_CONTAINERS = frozenset({dict, list, tuple})
# In the encoder's output these only appear if some string may be unsignable (or holds a
# literal backslash before b/f/u); then the exact per-string check decides.  ``<>&`` are
# signable and the encoder writes them raw, as fioctl and jsoncpp do.
_SUSPECT = ("\\u", "\\b", "\\f")
# Every digit becomes "9": runs of 19 digits (maybe an integer beyond 64 bits) are then found
# by substring search on bytes, about ten times faster than a regular expression over key ids
# and hashes, which are full of digit runs.
_DIGITS_AS_NINE = bytes.maketrans(b"0123456789", b"9" * 10)
_NINETEEN_NINES = b"9" * 19
_TOKEN_STARTS = (b":", b",", b"[", b"")


def _may_hold_long_integer(encoded: bytes) -> bool:
    """Whether some integer token of the encoder's output may not fit in 64 bits.

    A run of 19 or more digits counts when it starts a token (after ``:`` ``,`` ``[``, with
    an optional minus sign); one inside a string only causes the exact check to run.
    """
    digits = encoded.translate(_DIGITS_AS_NINE)
    at = digits.find(_NINETEEN_NINES)
    while at != -1:
        before = encoded[at - 1 : at]
        if before == b"-":
            before = encoded[at - 2 : at - 1] if at > 1 else b""
        if before in _TOKEN_STARTS:
            return True
        # Further on in the same run the character before is a digit: never a token start.
        at = digits.find(_NINETEEN_NINES, at + 19)
    return False


def _quick_shape_check(value: JsonValue) -> bool:
    """Walk containers only, with C-level type sets; False when the precise check must run."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return False
        if type(item) is dict:
            if set(map(type, item)) - {str}:
                return False
            children: Any = item.values()
        else:
            children = item
        kinds = set(map(type, children))
        if kinds - _PLAIN_TYPES:
            return False
        if kinds & _CONTAINERS:
            stack.extend((child, depth + 1) for child in children if type(child) in _CONTAINERS)
    return True


def canonical(value: JsonValue, *, parsed: bool = False) -> bytes:
    """The exact bytes a Foundries signature covers.

    ``parsed`` says ``value`` came from ``loads`` unchanged, which already guarantees
    JSON types only, string keys, no floats and bounded depth, so the shape walk is
    skipped; strings and integer ranges are still checked on the output.
    """
    # Inside the signable subset the C encoder escapes exactly \" \\ \n \r \t, and sorting
    # by code point is byte order for ASCII: its output is the canonical form.  Shape is
    # checked by a cheap walk; strings and integer ranges are checked on the output, and
    # anything suspicious is settled by the exact (slower) validation.
    if not parsed and (type(value) not in _CONTAINERS or not _quick_shape_check(value)):
        _validate(value)
    try:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        _fail(f"value cannot be encoded: {exc}")
    encoded = text.encode("ascii")
    if any(marker in text for marker in _SUSPECT) or _may_hold_long_integer(encoded):
        _validate(value)
    return encoded


def dumps_pretty(value: JsonValue) -> bytes:
    """Human-readable JSON for files people may open; never used for signing."""
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=True) + "\n").encode("ascii")


def dumps_compact(value: JsonValue) -> bytes:
    """Compact JSON as fioctl's json.Marshal writes it (used for key files and uploads)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=True).encode("ascii")
