"""Strict JSON parsing and the canonical form Foundries signatures cover."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.core.errors import InputFormatError
from appliance.core.strictjson import (
    MAX_DEPTH,
    canonical,
    check_signable_string,
    dumps_compact,
    dumps_pretty,
    loads,
    loads_object,
)

# --- strict parsing -------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b'{"a":1,"a":2}', "duplicate key 'a'"),
        (b'{"x":{"k":1,"j":2,"k":3}}', "duplicate key 'k'"),
        (b'[{"a":1},{"b":1,"b":1}]', "duplicate key 'b'"),
        (b'{"a":1,"\\u0061":2}', "duplicate key 'a'"),
        (b"1.0", "floating point number (1.0)"),
        (b"1e3", "floating point number (1e3)"),
        (b"1E3", "floating point number"),
        (b'{"v":-0.5}', "floating point number (-0.5)"),
        (b"[1.5e-3]", "floating point number"),
        (b"NaN", "non-standard constant NaN"),
        (b"Infinity", "non-standard constant Infinity"),
        (b"-Infinity", "non-standard constant -Infinity"),
        (b'{"a":[NaN]}', "non-standard constant NaN"),
        (b"[" * 10_000 + b"]" * 10_000, "nested deeper than 64"),
        (b'{"a":' * 10_000 + b"1" + b"}" * 10_000, "nested deeper than 64"),
        (b"[" * 10_000, "nested deeper than 64"),
        (b"\xef\xbb\xbf{}", "byte order mark"),
        (b'"\xff"', "not valid UTF-8 (byte 1)"),
        (b'"\xc0\xaf"', "not valid UTF-8"),  # overlong '/'
        (b'"\xed\xa0\x80"', "not valid UTF-8"),  # encoded surrogate
        (b'{"a":"\x80"}', "not valid UTF-8 (byte 6)"),
        (b"", "not valid JSON"),
        (b"{", "not valid JSON"),
        (b"{} {}", "not valid JSON"),
        (b"{'a':1}", "not valid JSON"),
        (b'{"a":1,}', "not valid JSON"),
        (b"1" * 5000, "not valid JSON"),  # Python's integer digit limit, still a clean error
    ],
)
def test_loads_refusals(data: bytes, fragment: str) -> None:
    with pytest.raises(InputFormatError) as info:
        loads(data, what="thing.json")
    assert fragment in info.value.message
    assert info.value.message.startswith("thing.json")


def test_loads_oversize_is_refused_before_parsing() -> None:
    with pytest.raises(InputFormatError, match="thing is 11 bytes, more than the 10 allowed"):
        loads(b"[" * 11, max_bytes=10, what="thing")
    assert loads(b" " * 8 + b"[]", max_bytes=10) == []


def test_depth_limit_is_exact() -> None:
    assert loads(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH) is not None
    with pytest.raises(InputFormatError, match="nested deeper"):
        loads(b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1))
    # brackets inside strings do not count
    assert loads(b'["' + b"[" * 1000 + b'"]') == ["[" * 1000]
    assert loads(b'["\\"' + b"{" * 1000 + b'"]') == ['"' + "{" * 1000]


@pytest.mark.parametrize("data", [b"[]", b'"s"', b"1", b"null", b"true"])
def test_loads_object_refuses_non_objects(data: bytes) -> None:
    with pytest.raises(InputFormatError, match="root.json must be a JSON object"):
        loads_object(data, what="root.json")


def test_loads_accepts_plain_json() -> None:
    assert loads_object(b' {"a": [1, -2, true, false, null, "x\\u00e9"]}\n') == {
        "a": [1, -2, True, False, None, "x\u00e9"]
    }


@given(st.binary(max_size=200))
@settings(max_examples=500, deadline=None)
def test_loads_only_raises_input_format_error(data: bytes) -> None:
    try:
        loads(data)
    except InputFormatError:
        pass


@given(st.text(alphabet='[]{}",:0123456789.eE-+ \\untrfalsN', max_size=80))
@settings(max_examples=500, deadline=None)
def test_loads_only_raises_input_format_error_on_json_like_text(text: str) -> None:
    try:
        loads(text.encode())
    except InputFormatError:
        pass


# --- canonical form ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"b": 1, "a": 2}, b'{"a":2,"b":1}'),
        ({"a": 4, "B": 1, "_": 3, "A": 2}, b'{"A":2,"B":1,"_":3,"a":4}'),
        ({"ab": 1, "a": 2, "b": 3}, b'{"a":2,"ab":1,"b":3}'),
        ({"z": {"y": [1, {"b": True, "a": None}]}, "a": []}, b'{"a":[],"z":{"y":[1,{"a":null,"b":true}]}}'),
        ('a"b\\c\nd\re\tf', b'"a\\"b\\\\c\\nd\\re\\tf"'),
        ("a/b 'q' ~`!@#$%^*()", b"\"a/b 'q' ~`!@#$%^*()\""),
        ([True, False, None], b"[true,false,null]"),
        ([-1, 0, 1, -(2**63), 2**63 - 1], b"[-1,0,1,-9223372036854775808,9223372036854775807]"),
        ((1, (2,)), b"[1,[2]]"),
        ({}, b"{}"),
        ([], b"[]"),
        ("", b'""'),
        (
            {"keys": {"k": {"keytype": "ED25519"}}, "_type": "Root"},
            b'{"_type":"Root","keys":{"k":{"keytype":"ED25519"}}}',
        ),
    ],
)
def test_canonical_exact_bytes(value: Any, expected: bytes) -> None:
    assert canonical(value) == expected


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("caf\u00e9", "U+00E9 at offset 3 is outside printable ASCII"),
        ("\u2028", "U+2028"),
        ("a\bb", "U+0008 at offset 1"),
        ("\f", "U+000C"),
        ("\x01", "U+0001"),
        ("\x00", "U+0000"),
        ("\x7f", "U+007F"),
        ("\ud800", "U+D800"),
        ({"k\u00e9": 1}, "U+00E9"),
        ({"\x1b[31m": 1}, "U+001B"),
        (1.0, "floating point"),
        ([0.5], "floating point"),
        (float("nan"), "floating point"),
        (2**63, "does not fit in 64 bits"),
        (-(2**63) - 1, "does not fit in 64 bits"),
        ({1: "a"}, "keys must be strings"),
        ({("a",): 1}, "keys must be strings"),
        (b"bytes", "type bytes is not JSON"),
        ({"a": {1, 2}}, "type set is not JSON"),
        (object(), "is not JSON"),
    ],
)
def test_canonical_refusals(value: Any, fragment: str) -> None:
    with pytest.raises(InputFormatError) as info:
        canonical(value)
    assert fragment in info.value.message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # fioctl (foundriesio/go canonical) and aktualizr (jsoncpp) both write <, > and & raw.
        ({"message": "<ops> & audit"}, b'{"message":"<ops> & audit"}'),
        ({"<&>": "a>b"}, b'{"<&>":"a>b"}'),
        ({"pem": "-----BEGIN PUBLIC KEY-----\nAB\r\tCD\n"}, b'{"pem":"-----BEGIN PUBLIC KEY-----\\nAB\\r\\tCD\\n"}'),
    ],
)
def test_canonical_writes_html_characters_raw_and_escapes_newlines(value: Any, expected: bytes) -> None:
    assert check_signable_string("<ops> & audit") is None
    assert canonical(value) == expected
    assert canonical(loads(expected), parsed=True) == expected


def test_canonical_refuses_deep_nesting_without_recursion_error() -> None:
    value: Any = 1
    for _ in range(10_000):
        value = [value]
    with pytest.raises(InputFormatError, match="nested too deeply"):
        canonical(value)


SIGNABLE = st.sampled_from([chr(c) for c in range(0x20, 0x7F)] + ["\n", "\r", "\t"])
TEXT = st.text(alphabet=SIGNABLE, max_size=12)
INTS = st.integers(min_value=-(2**63), max_value=2**63 - 1)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | INTS | TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(TEXT, children, max_size=4),
    max_leaves=25,
)


@given(JSON_VALUES)
@settings(max_examples=300, deadline=None)
def test_canonical_round_trip_and_idempotent(value: Any) -> None:
    data = canonical(value)
    parsed = loads(data)
    assert parsed == value
    assert canonical(parsed) == data


@given(JSON_VALUES)
@settings(max_examples=300, deadline=None)
def test_canonical_matches_an_independent_encoder(value: Any) -> None:
    expected = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")
    assert canonical(value) == expected


@given(st.text(min_size=1, max_size=20).filter(lambda s: any(c not in "\n\r\t" and not " " <= c <= "~" for c in s)))
@settings(max_examples=200, deadline=None)
def test_canonical_refuses_every_string_outside_the_subset(text: str) -> None:
    with pytest.raises(InputFormatError, match="cannot be signed"):
        canonical({"s": text})
    with pytest.raises(InputFormatError, match="cannot be signed"):
        canonical({text: 1})


# --- other writers ------------------------------------------------------------------


def test_dumps_compact_keeps_insertion_order() -> None:
    assert dumps_compact({"keytype": "ED25519", "keyval": {"public": "ab"}}) == (
        b'{"keytype":"ED25519","keyval":{"public":"ab"}}'
    )
    assert dumps_compact({"b": 1, "a": "\u00e9"}) == b'{"b":1,"a":"\\u00e9"}'


def test_dumps_pretty_is_sorted_ascii_with_newline() -> None:
    assert dumps_pretty({"b": 1, "a": [1]}) == b'{\n  "a": [\n    1\n  ],\n  "b": 1\n}\n'


def _long_integer_by_regex(text: str) -> bool:
    """The reference: a 19-digit run that starts a token (after : , [ or the start, minus sign allowed)."""
    import re

    return re.search(r"(?:^|[:,\[])-?(?<![0-9])[0-9]{19}", text) is not None


@given(st.text(alphabet='0123456789-:,[]"ab', max_size=120))
def test_the_long_integer_search_finds_exactly_the_token_runs(text: str) -> None:
    from appliance.core.strictjson import _may_hold_long_integer

    assert _may_hold_long_integer(text.encode("ascii")) == _long_integer_by_regex(text)
