"""Fuzzing the parsers that read hostile bytes: the only exceptions allowed are AirgapError subclasses.

Targets: strictjson.loads; open_request/open_response and what the appliance and the
station then do with a bundle that opened (parameters, root histories, the new roots);
KeysArchive.from_bytes and the key file parsers; Root.from_bytes.  Inputs are valid
baselines from tests/vectors/bad/ mutated at the byte level (bit flips, truncation,
insertion, deletion, duplication) and at the JSON level (a value replaced, removed or
added anywhere in the tree, then serialised in various ways and, for bundles, often
re-signed so the mutation gets past the signature check), plus plain random bytes.
Any IndexError, KeyError, TypeError, RecursionError, UnicodeError ... fails the test.
Example counts are bounded so the file runs in a few seconds; scripts/fuzz_atheris.py
runs the same targets without a bound.
"""

from __future__ import annotations

import copy
import gzip
import io
import json
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.core.bundle import open_request, open_response, seal
from appliance.core.errors import AirgapError
from appliance.core.identity import PeerKey
from appliance.core.keys import parse_public_key_file
from appliance.core.keysarchive import KeysArchive
from appliance.core.metadata import Root
from appliance.core.privatekeys import parse_secret_key_file
from appliance.core.strictjson import canonical, dumps_compact, loads
from appliance.core.verify import verify_root_chain
from tests.support.corpus import APPLIANCE, NOW, STATION, tar_bytes
from tests.support.fuzztargets import appliance_side, station_side, tarball

CORPUS = Path(__file__).parent.parent / "vectors" / "bad"
VECTORS = Path(__file__).parent.parent / "vectors"
OK_REQUEST = (CORPUS / "ok-request.json").read_bytes()
OK_RESPONSE = (CORPUS / "ok-response.json").read_bytes()
OK_KEYS = (CORPUS / "ok-keys.tgz").read_bytes()
OK_TAR = gzip.decompress(OK_KEYS)
OK_ROOT = (CORPUS / "ok-root.json").read_bytes()
KEY_FILES = [
    *KeysArchive.from_bytes(OK_KEYS).files.values(),
    (VECTORS / "rsa2048-test.pub").read_bytes(),
    (VECTORS / "rsa2048-test.sec").read_bytes(),
]
REQUEST = open_request(OK_REQUEST, STATION.peer)
ARCHIVE = KeysArchive.from_bytes(OK_KEYS)

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def refused_cleanly(action: Callable[[], object]) -> bool:
    """Run ``action``; True if it raised an AirgapError, False if it succeeded.  Anything else escapes."""
    try:
        action()
    except AirgapError:
        return True
    return False


# --- mutation strategies --------------------------------------------------------------------

TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=12) | st.text(
    max_size=4
)  # the latter may hold surrogates
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
    st.sampled_from(
        ["", "Root", "root", "ED25519", "RSA", "ed25519", "rsassa-pss", "0" * 64, "2030-01-01T00:00:00Z", "acme"]
    ),
)
JSON_VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3), max_leaves=8
)


def _slots(value: Any, out: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Every (container, key-or-index) in ``value``."""
    if isinstance(value, dict):
        for key, item in value.items():
            out.append((value, key))
            _slots(item, out)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out.append((value, index))
            _slots(item, out)
    return out


def _containers(value: Any) -> list[Any]:
    found = [value] if isinstance(value, (dict, list)) else []
    for container, key in _slots(value, []):
        if isinstance(container[key], (dict, list)):
            found.append(container[key])
    return found


@st.composite
def json_mutated(draw: st.DrawFn, document: Any) -> Any:
    """``document`` with one to three edits anywhere in its tree."""
    doc = copy.deepcopy(document)
    for _ in range(draw(st.integers(1, 3))):
        action = draw(st.sampled_from(["replace", "delete", "add", "retype"]))
        if action == "add":
            container = draw(st.sampled_from(_containers(doc)))
            if isinstance(container, dict):
                container[draw(TEXT)] = draw(JSON_VALUES)
            else:
                container.insert(draw(st.integers(0, len(container))), draw(JSON_VALUES))
            continue
        slots = _slots(doc, [])
        if not slots:
            return draw(JSON_VALUES)
        container, key = draw(st.sampled_from(slots))
        if action == "replace":
            container[key] = draw(JSON_VALUES)
        elif action == "delete":
            del container[key]
        else:  # the same content under another JSON type
            old = container[key]
            container[key] = draw(st.sampled_from([str(old), [old], {"v": old}, None, 1 if old else 0]))
    return doc


@st.composite
def serialised(draw: st.DrawFn, document: Any) -> bytes:
    indent = draw(st.sampled_from([None, 2]))
    ensure_ascii = draw(st.booleans())
    return json.dumps(document, indent=indent, ensure_ascii=ensure_ascii).encode("utf-8", "surrogatepass")


@st.composite
def byte_mutated(draw: st.DrawFn, base: bytes) -> bytes:
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "duplicate", "set"]))
        position = draw(st.integers(0, len(data)))
        if kind == "flip" and position < len(data):
            data[position] ^= 1 << draw(st.integers(0, 7))
        elif kind == "truncate":
            del data[position:]
        elif kind == "insert":
            data[position:position] = draw(
                st.binary(min_size=1, max_size=16) | st.sampled_from([b"{", b"]", b'"', b"\\"])
            )
        elif kind == "delete":
            del data[position : position + draw(st.integers(1, 64))]
        elif kind == "duplicate":
            data[position:position] = data[position : position + draw(st.integers(1, 512))]
        elif position < len(data):
            data[position] = draw(st.integers(0, 255))
    return bytes(data)


def bundle_variants(base: bytes, signer: Any) -> st.SearchStrategy[bytes]:
    """Byte-level mutations, JSON-level mutations, and JSON-level mutations re-signed by ``signer``."""
    document = json.loads(base)

    @st.composite
    def resigned(draw: st.DrawFn) -> bytes:
        mutated = draw(json_mutated(document["bundle"]))
        if isinstance(mutated, dict):
            try:
                return seal(mutated, signer)
            except AirgapError:
                pass
        return draw(serialised({"bundle": mutated, "signature": document["signature"]}))

    return st.one_of(byte_mutated(base), json_mutated(document).flatmap(serialised), resigned())


# --- strictjson ---------------------------------------------------------------------------------

JSON_TEXT = st.text(alphabet='{}[]",:0123456789.-+eEtrufalsnNI \t\n\\u\x00\x7f\u00e9\ud800', max_size=200)


@FUZZ
@given(st.one_of(st.binary(max_size=300), JSON_TEXT.map(lambda t: t.encode("utf-8", "surrogatepass"))))
def test_strict_json_refuses_or_parses(data: bytes) -> None:
    try:
        value = loads(data)
    except AirgapError:
        return
    # Whatever parses is JSON without floats or duplicate keys, and survives a round trip.
    assert loads(json.dumps(value).encode()) == value


@FUZZ
@given(st.integers(1, 20_000), st.sampled_from(["[", '{"a":', '[{"a":']))
def test_strict_json_refuses_deep_nesting_without_recursion_error(depth: int, opener: str) -> None:
    closer = {"[": "]", '{"a":': "}", '[{"a":': "}]"}[opener]
    refused_cleanly(lambda: loads((opener * depth + "0" + closer * depth).encode()))


@FUZZ
@given(JSON_VALUES)
def test_canonical_form_is_stable_for_what_it_accepts(value: Any) -> None:
    try:
        once = canonical(value)
    except AirgapError:
        return
    assert canonical(loads(once)) == once


# --- bundles -------------------------------------------------------------------------------------


def test_baselines_pass_both_sides() -> None:
    appliance_side(OK_REQUEST)
    station_side(OK_RESPONSE)


@FUZZ
@given(bundle_variants(OK_REQUEST, STATION))
def test_request_bundle_parser(data: bytes) -> None:
    refused_cleanly(lambda: appliance_side(data))


@FUZZ
@given(bundle_variants(OK_RESPONSE, APPLIANCE))
def test_response_bundle_parser(data: bytes) -> None:
    refused_cleanly(lambda: station_side(data))


@FUZZ
@given(st.binary(max_size=400))
def test_bundle_parsers_on_random_bytes(data: bytes) -> None:
    assert refused_cleanly(lambda: open_request(data, STATION.peer))
    assert refused_cleanly(lambda: open_response(data, APPLIANCE.peer))


@FUZZ
@given(json_mutated(json.loads(STATION.peer.to_bytes())).flatmap(serialised) | byte_mutated(STATION.peer.to_bytes()))
def test_identity_file_parser(data: bytes) -> None:
    refused_cleanly(lambda: PeerKey.from_bytes(data))


# --- tarballs and key files ------------------------------------------------------------------


def read_archive(data: bytes) -> None:
    """Whatever parses is written back deterministically and reads back the same."""
    tarball(data)


def _tgz(members: dict[str, bytes]) -> bytes:
    return gzip.compress(tar_bytes(members.items()), mtime=0)


@st.composite
def member_mutated(draw: st.DrawFn) -> bytes:
    """A well-formed tarball whose member names or contents are mutated."""
    files = dict(ARCHIVE.files)
    name = draw(st.sampled_from(sorted(files)))
    if draw(st.booleans()):
        files[name] = draw(byte_mutated(files[name]) | json_mutated(json.loads(files[name])).flatmap(serialised))
    else:
        new_name = draw(
            st.sampled_from(["tufrepo/keys/a.sec", "./tufrepo/keys/first-root.pub", "tufrepo/roles/x.json"])
            | st.text(max_size=20)
        )
        files[new_name] = files.pop(name)
    try:
        return _tgz(files)
    except (ValueError, UnicodeError):  # a name tarfile itself cannot write
        return _tgz(dict(ARCHIVE.files))


@FUZZ
@given(
    st.one_of(
        byte_mutated(OK_KEYS),
        byte_mutated(OK_TAR).map(lambda tar: gzip.compress(tar, mtime=0)),
        member_mutated(),
        st.binary(max_size=600),
        st.binary(max_size=2000).map(lambda raw: gzip.compress(raw, mtime=0)),
    )
)
def test_tarball_parser(data: bytes) -> None:
    refused_cleanly(lambda: read_archive(data))


@FUZZ
@given(st.sampled_from(KEY_FILES).flatmap(lambda f: byte_mutated(f) | json_mutated(json.loads(f)).flatmap(serialised)))
def test_key_file_parsers(data: bytes) -> None:
    refused_cleanly(lambda: parse_public_key_file(data))
    refused_cleanly(lambda: parse_secret_key_file(data))


@FUZZ
@given(st.binary(max_size=3000))
def test_tar_reader_on_random_tar_headers(noise: bytes) -> None:
    """Random bytes after a valid first header: tarfile's own parsing errors must become TarballError."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:") as archive:
        info = tarfile.TarInfo("tufrepo/roles/a.json")
        info.size = 2
        archive.addfile(info, io.BytesIO(b"{}"))
    refused_cleanly(lambda: read_archive(gzip.compress(raw.getvalue()[:1024] + noise, mtime=0)))


# --- roots -------------------------------------------------------------------------------------


@FUZZ
@given(byte_mutated(OK_ROOT) | json_mutated(json.loads(OK_ROOT)).flatmap(serialised))
def test_root_parser(data: bytes) -> None:
    def parse_and_check() -> None:
        root = Root.from_bytes(data)
        assert Root.from_bytes(dumps_compact(root.to_dict())).signed_bytes() == root.signed_bytes()
        verify_root_chain(Root.from_bytes(OK_ROOT), [root], NOW)

    refused_cleanly(parse_and_check)
