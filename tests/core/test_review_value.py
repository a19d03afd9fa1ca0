"""The review as a value: the summary lines, structured fields and why a key leaves a root."""

from __future__ import annotations

import pytest

from appliance.core.review import unused_key_reason
from appliance.core.rootdiff import changelog_fields
from tests.helpers_core import ed_key, root_signed, signed_root


@pytest.mark.parametrize(
    ("value", "lines"),
    [
        (
            {"polis-id": "", "message": "yearly", "timestamp": "2026-01-01T00:00:00Z"},
            ["x.message: yearly", "x.polis-id: ", "x.timestamp: 2026-01-01T00:00:00Z"],
        ),
        ({"a": {"b": [1, True, None]}}, ["x.a.b[0]: 1", "x.a.b[1]: true", "x.a.b[2]: null"]),
        ({}, ["x: (empty)"]),
        ("text", ["x: text"]),
    ],
)
def test_structured_fields_are_shown_as_fields_never_as_a_repr(value: object, lines: list[str]) -> None:
    assert changelog_fields(value, "x") == lines
    assert not any("{" in line or "'" in line for line in lines)


def test_an_unused_key_says_why_it_leaves_the_root() -> None:
    old_root, root, targets = ed_key(41), ed_key(42), ed_key(43)
    current = signed_root(root_signed([root], [targets], version=3, also_keys=[old_root]), [root])
    reason = unused_key_reason(old_root.keyid, current)
    assert reason.startswith(f"key {old_root.keyid[:16]} removed from the key list: no role of root v3 uses it")
    assert "fioctl drops unused keys" in reason
