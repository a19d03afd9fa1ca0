"""Prototypes for the benchmarks: strictjson's canonical encoder and depth check, made faster.

Every string (and object key) is checked against the signable subset with one regular
expression instead of a Python loop over its characters, and the C json encoder writes
the result: inside that subset (printable ASCII without <>&, plus \\n \\r \\t) Python's
json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=True) escapes exactly
``"``, ``\\``, ``\\n``, ``\\r``, ``\\t`` as canonical() does, and sorts keys by code point,
which is byte order for ASCII.

fast_check_depth removes string literals and everything but brackets with two regular
expressions and only then walks what is left, instead of every character.  Neither is used by the tool;
the benchmarks show what they would buy.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from itertools import accumulate
from typing import Any

_UNSIGNABLE = re.compile(r"[^\x20-\x7e\n\r\t]|[<>&]")
_INT64 = 2**63
MAX_DEPTH = 64


def fast_canonical(value: Any) -> bytes:
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ValueError("nested too deeply")
        if isinstance(item, str):
            if _UNSIGNABLE.search(item):
                raise ValueError("string cannot be signed")
        elif isinstance(item, dict):
            for name, inner in item.items():
                if not isinstance(name, str) or _UNSIGNABLE.search(name):
                    raise ValueError("object key cannot be signed")
                stack.append((inner, depth + 1))
        elif isinstance(item, list):
            stack.extend((inner, depth + 1) for inner in item)
        elif isinstance(item, bool) or item is None:
            pass
        elif isinstance(item, int):
            if not -_INT64 <= item < _INT64:
                raise ValueError("integer does not fit in 64 bits")
        else:
            raise ValueError(f"{type(item).__name__} cannot be signed")
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


_STRING_LITERALS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")


def fast_check_depth(text: str, limit: int) -> None:
    brackets = _NOT_BRACKETS.sub("", _STRING_LITERALS.sub("", text))
    if max(accumulate(1 if char in "[{" else -1 for char in brackets), default=0) > limit:
        raise ValueError(f"JSON is nested deeper than {limit} levels")


@contextlib.contextmanager
def all_swapped_in() -> Iterator[None]:
    """fast_canonical computed once per signed object, and fast_check_depth.

    Envelope.from_dict encodes ``signed`` to validate it and signed_bytes() encodes it again;
    remembering the bytes per object shows what keeping them from the first encoding buys.
    """
    import appliance.core.metadata as metadata
    import appliance.core.strictjson as strictjson

    seen: dict[int, tuple[Any, bytes]] = {}

    def canonical_once(value: Any) -> bytes:
        hit = seen.get(id(value))
        if hit is not None and hit[0] is value:
            return hit[1]
        encoded = fast_canonical(value)
        seen[id(value)] = (value, encoded)
        return encoded

    original_depth, original_canonical = strictjson._check_depth, metadata.canonical
    strictjson._check_depth = fast_check_depth
    metadata.canonical = canonical_once
    try:
        yield
    finally:
        strictjson._check_depth = original_depth
        metadata.canonical = original_canonical


@contextlib.contextmanager
def swapped_in() -> Iterator[None]:
    """Use fast_canonical wherever metadata computes signed bytes (Envelope.from_dict, signed_bytes)."""
    import appliance.core.metadata as metadata

    original = metadata.canonical
    metadata.canonical = fast_canonical
    try:
        yield
    finally:
        metadata.canonical = original
