"""Root metadata: lossless round trips (unknown fields kept) and structural refusals."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.core.errors import InputFormatError, MetadataError
from appliance.core.metadata import Envelope, Root, RootMeta, build_root, sign_root
from appliance.core.strictjson import canonical, dumps_compact
from appliance.core.timefmt import add_years, format_expires, parse_expires
from tests.helpers_core import ed_key, root_signed, sign_dict

ROOT_KEY, TARGETS_KEY, ONLINE_KEY, OLD_KEY = ed_key(1), ed_key(2), ed_key(3), ed_key(4)


def foundries_signed() -> dict[str, Any]:
    """A root as the Foundries server returns it, with the unknown fields it adds."""
    signed = root_signed(
        [ROOT_KEY],
        [TARGETS_KEY],
        online=ONLINE_KEY,
        also_keys=[OLD_KEY],
        version=3,
        extra={
            "x-changelog": {"polis-id": "abc-123", "message": "rotate root", "timestamp": "2025-06-01T12:00:00Z"},
            "x-key-owners": {ROOT_KEY.keyid: "ops@example.com"},
        },
    )
    signed["keys"][ROOT_KEY.keyid]["x-created"] = "2025-06-01"
    signed["keys"][ROOT_KEY.keyid]["keyval"]["x-note"] = "offline"
    signed["roles"]["targets"]["x-extra"] = [1, 2]
    return signed


def foundries_envelope() -> dict[str, Any]:
    env = sign_dict(foundries_signed(), [ROOT_KEY])
    env["targets-signatures"] = {"ci": [{"keyid": "ab", "method": "ed25519", "sig": "AA=="}]}
    env["signatures"][0]["x-sig-note"] = "kept"
    return env


# --- lossless round trips -----------------------------------------------------------


def test_root_meta_round_trip_keeps_unknown_fields() -> None:
    signed = foundries_signed()
    meta = RootMeta.from_dict(copy.deepcopy(signed))
    assert meta.to_dict() == signed
    assert canonical(meta.to_dict()) == canonical(signed)
    assert meta.extra["x-changelog"]["polis-id"] == "abc-123"
    assert meta.keys[ROOT_KEY.keyid].extra == {"x-created": "2025-06-01"}
    assert meta.keys[ROOT_KEY.keyid].keyval_extra == {"x-note": "offline"}
    assert meta.roles["targets"].extra == {"x-extra": [1, 2]}


def test_root_envelope_round_trip_keeps_unknown_fields() -> None:
    env = foundries_envelope()
    root = Root.from_dict(copy.deepcopy(env))
    assert root.to_dict() == env
    assert root.envelope.extra == {"targets-signatures": env["targets-signatures"]}
    assert root.signatures[0].extra == {"x-sig-note": "kept"}
    assert Root.from_bytes(root.to_bytes()).to_dict() == env
    assert root.signed_bytes() == canonical(env["signed"])


def test_envelope_keeps_signed_verbatim_even_when_typed_view_reorders() -> None:
    env = foundries_envelope()
    root = Root.from_bytes(dumps_compact(env))
    assert root.envelope.signed is not None
    assert list(root.envelope.signed) == list(env["signed"])
    assert root.meta.to_dict() == env["signed"]


def test_sign_root_and_build_root_agree() -> None:
    meta = RootMeta.from_dict(foundries_signed())
    root = sign_root(meta, [ROOT_KEY, OLD_KEY])
    assert root.meta == meta
    assert [s.keyid for s in root.signatures] == [ROOT_KEY.keyid, OLD_KEY.keyid]
    assert ROOT_KEY.public_key.verify("ed25519", root.signatures[0].sig, canonical(foundries_signed()))
    rebuilt = build_root(meta, root.signatures, {"targets-signatures": {}})
    assert rebuilt.to_dict()["targets-signatures"] == {}
    assert rebuilt.signed_bytes() == root.signed_bytes()


def test_lower_case_type_is_accepted_and_kept() -> None:
    signed = foundries_signed()
    signed["_type"] = "root"
    assert RootMeta.from_dict(signed).to_dict()["_type"] == "root"


def test_fractional_expiry_is_refused_as_devices_do() -> None:
    # aktualizr's TimeStamp accepts only the 20-character YYYY-MM-DDTHH:MM:SSZ form.
    signed = foundries_signed()
    signed["expires"] = "2030-01-01T00:00:00.123456789Z"
    with pytest.raises(MetadataError, match="not of the form"):
        RootMeta.from_dict(signed)


def test_with_role_and_without_unused_keys() -> None:
    meta = RootMeta.from_dict(foundries_signed())
    new_key = ed_key(9).public_key
    meta2 = meta.with_role("root", [new_key.keyid], 1)
    assert meta2.roles["targets"].extra == {"x-extra": [1, 2]}
    assert meta2.roles["root"].keyids == (new_key.keyid,)
    pruned = meta.without_unused_keys()
    assert OLD_KEY.keyid not in pruned.keys and ROOT_KEY.keyid in pruned.keys
    assert OLD_KEY.keyid in meta.without_unused_keys(keep=[OLD_KEY.keyid]).keys


RESERVED = {"_type", "version", "expires", "keys", "roles", "consistent_snapshot", "keytype", "keyval"}
SIGNABLE = st.sampled_from([chr(c) for c in range(0x20, 0x7F) if chr(c) not in "<>&"] + ["\n", "\t"])
FIELD = st.text(alphabet=SIGNABLE, min_size=1, max_size=10)
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(alphabet=SIGNABLE, max_size=10),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(FIELD, c, max_size=3),
    max_leaves=10,
)


def extras(forbidden: set[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(FIELD.filter(lambda k: k not in forbidden), VALUES, max_size=3)


@given(
    top=extras(RESERVED),
    key=extras({"keytype", "keyval"}),
    keyval=extras({"public", "private"}),
    role=extras({"keyids", "threshold"}),
    outer=extras({"signed", "signatures"}),
    sig=extras({"keyid", "method", "sig"}),
)
@settings(max_examples=100, deadline=None)
def test_unknown_fields_survive_round_trip(
    top: dict[str, Any],
    key: dict[str, Any],
    keyval: dict[str, Any],
    role: dict[str, Any],
    outer: dict[str, Any],
    sig: dict[str, Any],
) -> None:
    signed = root_signed([ROOT_KEY], [TARGETS_KEY], online=ONLINE_KEY, extra=top)
    signed["keys"][TARGETS_KEY.keyid].update(key)
    signed["keys"][TARGETS_KEY.keyid]["keyval"].update(keyval)
    signed["roles"]["snapshot"].update(role)
    env = sign_dict(signed, [ROOT_KEY])
    env.update(outer)
    env["signatures"][0].update(sig)
    assert RootMeta.from_dict(copy.deepcopy(signed)).to_dict() == signed
    root = Root.from_dict(copy.deepcopy(env))
    assert root.to_dict() == env
    assert Root.from_bytes(dumps_compact(env)).to_dict() == env
    assert canonical(root.meta.to_dict()) == canonical(signed)


# --- refusals ----------------------------------------------------------------------------

Mutation = Callable[[dict[str, Any]], None]


def _signed(f: Callable[[dict[str, Any]], None]) -> Mutation:
    return lambda env: f(env["signed"])


def _set(path: tuple[Any, ...], value: Any) -> Mutation:
    def mutate(env: dict[str, Any]) -> None:
        node = env
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value

    return mutate


def _delete(path: tuple[Any, ...]) -> Mutation:
    def mutate(env: dict[str, Any]) -> None:
        node = env
        for part in path[:-1]:
            node = node[part]
        del node[path[-1]]

    return mutate


R, T = ROOT_KEY.keyid, TARGETS_KEY.keyid
WRONG_ID = "ab" * 32


def _rename_key(env: dict[str, Any]) -> None:
    keys = env["signed"]["keys"]
    keys[WRONG_ID] = keys.pop(T)
    env["signed"]["roles"]["targets"]["keyids"] = [WRONG_ID]


def _duplicate_key(env: dict[str, Any]) -> None:
    env["signed"]["keys"][WRONG_ID] = copy.deepcopy(env["signed"]["keys"][T])


def _duplicate_key_upper_hex(env: dict[str, Any]) -> None:
    entry = copy.deepcopy(env["signed"]["keys"][T])
    entry["keyval"]["public"] = entry["keyval"]["public"].upper()
    env["signed"]["keys"][WRONG_ID] = entry


REFUSALS: list[tuple[str, Mutation, str]] = [
    ("type Targets", _set(("signed", "_type"), "Targets"), "_type is 'Targets', expected Root"),
    ("type missing", _delete(("signed", "_type")), "_type is None"),
    ("type int", _set(("signed", "_type"), 1), "_type is 1"),
    ("version 0", _set(("signed", "version"), 0), "version must be at least 1"),
    ("version -1", _set(("signed", "version"), -1), "version must be at least 1"),
    ("version string", _set(("signed", "version"), "1"), "version must be an integer"),
    ("version true", _set(("signed", "version"), True), "version must be an integer"),
    ("version missing", _delete(("signed", "version")), "version must be an integer"),
    ("expires no Z", _set(("signed", "expires"), "2030-01-01T00:00:00"), "not of the form"),
    ("expires offset", _set(("signed", "expires"), "2030-01-01T00:00:00+00:00"), "not of the form"),
    ("expires space", _set(("signed", "expires"), "2030-01-01 00:00:00Z"), "not of the form"),
    ("expires lower z", _set(("signed", "expires"), "2030-01-01T00:00:00z"), "not of the form"),
    ("expires short month", _set(("signed", "expires"), "2030-1-01T00:00:00Z"), "not of the form"),
    ("expires date only", _set(("signed", "expires"), "2030-01-01"), "not of the form"),
    ("expires newline", _set(("signed", "expires"), "2030-01-01T00:00:00Z\n"), "not of the form"),
    ("expires empty fraction", _set(("signed", "expires"), "2030-01-01T00:00:00.Z"), "not of the form"),
    ("expires Feb 30", _set(("signed", "expires"), "2030-02-30T00:00:00Z"), "not a real date"),
    ("expires hour 24", _set(("signed", "expires"), "2030-01-01T24:00:00Z"), "not a real date"),
    ("expires int", _set(("signed", "expires"), 1893456000), "expires must be a string"),
    ("expires missing", _delete(("signed", "expires")), "expires must be a string"),
    ("keys not object", _set(("signed", "keys"), []), "needs 'keys' and 'roles' objects"),
    ("roles missing", _delete(("signed", "roles")), "needs 'keys' and 'roles' objects"),
    ("key id mismatch", _rename_key, "does not match its key"),
    ("same key twice", _duplicate_key, "the same public key is listed under key ids"),
    ("same key twice, upper hex", _duplicate_key_upper_hex, "the same public key is listed under key ids"),
    ("key private material", _set(("signed", "keys", T, "keyval", "private"), "00" * 32), "private key material"),
    ("key type ECDSA", _set(("signed", "keys", T, "keytype"), "ECDSA"), "unsupported keytype"),
    ("key bad hex", _set(("signed", "keys", T, "keyval", "public"), "zz"), "64 hex digits"),
    ("key not object", _set(("signed", "keys", T), "x"), "key must be a JSON object"),
    ("role unknown key", _set(("signed", "roles", "targets", "keyids"), [WRONG_ID]), "which is not in keys"),
    ("keyids repeated", _set(("signed", "roles", "root", "keyids"), [R, R]), "lists a key id twice"),
    ("keyids not list", _set(("signed", "roles", "root", "keyids"), R), "must be a list of strings"),
    ("keyids ints", _set(("signed", "roles", "root", "keyids"), [1]), "must be a list of strings"),
    ("role not object", _set(("signed", "roles", "root"), [R]), "role root must be an object"),
    ("threshold 0", _set(("signed", "roles", "root", "threshold"), 0), "threshold 0 is outside 1..1000"),
    ("threshold -1", _set(("signed", "roles", "root", "threshold"), -1), "outside 1..1000"),
    ("threshold > keys", _set(("signed", "roles", "root", "threshold"), 2), "threshold 2 exceeds its 1 key(s)"),
    ("threshold > 1000", _set(("signed", "roles", "root", "threshold"), 1001), "threshold 1001 is outside 1..1000"),
    ("threshold string", _set(("signed", "roles", "root", "threshold"), "1"), "threshold must be an integer"),
    ("threshold true", _set(("signed", "roles", "root", "threshold"), True), "threshold must be an integer"),
    ("no root role", _delete(("signed", "roles", "root")), "root has no root role"),
    ("no targets role", _delete(("signed", "roles", "targets")), "root has no targets role"),
    ("consistent_snapshot string", _set(("signed", "consistent_snapshot"), "yes"), "must be a boolean"),
    ("consistent_snapshot null", _set(("signed", "consistent_snapshot"), None), "must be a boolean"),
    ("non-ASCII in signed", _set(("signed", "x-changelog"), {"message": "caf\u00e9"}), "outside printable ASCII"),
    ("non-ASCII key in signed", _set(("signed", "x-\u00e9"), 1), "outside printable ASCII"),
    ("'<' in signed", _set(("signed", "x-changelog"), {"message": "<b>"}), "escaped differently"),
    ("float in signed", _set(("signed", "x-ratio"), 0.5), "floating point numbers cannot be signed"),
    ("float version", _set(("signed", "version"), 1.0), "floating point numbers cannot be signed"),
    ("sig not base64", _set(("signatures", 0, "sig"), "!!!!"), "is not valid base64"),
    ("sig url-safe base64", _set(("signatures", 0, "sig"), "ab-_"), "is not valid base64"),
    ("sig unpadded", _set(("signatures", 0, "sig"), "YQ"), "is not valid base64"),
    ("sig non-ASCII", _set(("signatures", 0, "sig"), "\u00e9\u00e9=="), "is not valid base64"),
    ("sig not string", _set(("signatures", 0, "sig"), 5), "needs string keyid, method and sig"),
    ("sig no keyid", _delete(("signatures", 0, "keyid")), "needs string keyid, method and sig"),
    ("sig entry not object", _set(("signatures", 0), "sig"), "signature entry must be an object"),
    ("signatures not list", _set(("signatures",), {}), "has no 'signatures' list"),
    ("signed missing", _delete(("signed",)), "has no 'signed' object"),
    ("signed list", _set(("signed",), []), "has no 'signed' object"),
]


@pytest.mark.parametrize(("mutate", "fragment"), [c[1:] for c in REFUSALS], ids=[c[0] for c in REFUSALS])
def test_root_refusals(mutate: Mutation, fragment: str) -> None:
    env = sign_dict(foundries_signed(), [ROOT_KEY])
    Root.from_dict(copy.deepcopy(env))  # the unmutated root is fine
    mutate(env)
    with pytest.raises(MetadataError) as info:
        Root.from_dict(env)
    assert fragment in info.value.message


def test_root_from_bytes_refuses_bad_json() -> None:
    with pytest.raises(InputFormatError, match="root.json: JSON object has a duplicate key 'version'"):
        Root.from_bytes(b'{"signed":{"version":1,"version":2},"signatures":[]}')
    with pytest.raises(InputFormatError, match="floating point"):
        Root.from_bytes(b'{"signed":{"version":1.0},"signatures":[]}')
    with pytest.raises(MetadataError, match="must be a JSON object"):
        Envelope.from_dict([])


def test_envelope_accessors() -> None:
    env = Envelope.from_dict(sign_dict({"_type": "Targets", "version": 7, "targets": {}}, [TARGETS_KEY]))
    assert env.type == "Targets" and env.version == 7
    assert env.signed_bytes() == b'{"_type":"Targets","targets":{},"version":7}'
    with pytest.raises(MetadataError, match="version must be an integer"):
        _ = Envelope.from_dict({"signed": {}, "signatures": []}).version


# --- expires format ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-01-31T12:00:00Z", datetime(2025, 1, 31, 12, tzinfo=UTC)),
        ("2024-02-29T23:59:59Z", datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC)),
    ],
)
def test_parse_expires(text: str, expected: datetime) -> None:
    assert parse_expires(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "\u0662\u0660\u0662\u0665-01-31T12:00:00Z",  # Arabic-Indic digits match \d
        "\uff12\uff10\uff12\uff15-01-31T12:00:00Z",  # full-width digits
        "2025-01-31T12:00:00Z\n",
        " 2025-01-31T12:00:00Z",
        "2025-01-31T12:00:00.1234567890Z",
        "2025-01-31T12:00:00.5Z",
        "2025-01-31T12:00Z",
    ],
)
def test_parse_expires_refuses_look_alikes(text: str) -> None:
    with pytest.raises(MetadataError, match="not of the form"):
        parse_expires(text)


def test_format_expires_and_add_years() -> None:
    moment = datetime(2024, 2, 29, 10, 11, 12, 999_999, tzinfo=UTC)
    assert format_expires(moment) == "2024-02-29T10:11:12Z"
    assert format_expires(add_years(moment, 1)) == "2025-03-01T10:11:12Z"  # Go AddDate normalises Feb 29
    assert format_expires(add_years(datetime(2025, 6, 1, tzinfo=UTC), 1)) == "2026-06-01T00:00:00Z"
    with pytest.raises(ValueError, match="aware"):
        format_expires(datetime(2025, 1, 1))
