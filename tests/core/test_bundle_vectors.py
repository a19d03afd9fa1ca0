"""Bundle vectors under tests/vectors/bundles/: valid ones open, each invalid one fails for its named defect."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.core.bundle import check_binding, open_request, open_response
from appliance.core.errors import BundleError
from appliance.core.identity import PeerKey
from tests.support.bundle_vectors import build

VECTORS = Path(__file__).parent.parent / "vectors" / "bundles"
STATION = PeerKey.from_bytes((VECTORS / "station.pub").read_bytes())
APPLIANCE = PeerKey.from_bytes((VECTORS / "appliance.pub").read_bytes())


def test_vectors_match_the_generator() -> None:
    for name, data in build().items():
        assert (VECTORS / name).read_bytes() == data, f"{name} is stale; run scripts/make_bundle_vectors.py"


def test_valid_request_and_response_bind() -> None:
    request = open_request((VECTORS / "valid-request.json").read_bytes(), STATION)
    response = open_response((VECTORS / "valid-response.json").read_bytes(), APPLIANCE)
    check_binding(response, request)
    assert request.factory == "acme" and request.sequence == 1 and request.operation == "rotate-root"
    assert request.request_id == bytes(range(16)).hex()


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("invalid-request-bit-flipped.json", "signature does not verify"),
        ("invalid-request-truncated.json", "not valid JSON"),
        ("invalid-request-foreign-signer.json", "not by the pinned station"),
        ("invalid-request-as-response.json", "not by the pinned station"),
        ("invalid-request-duplicate-key.json", "duplicate key"),
        ("invalid-request-float.json", "floating point"),
        ("invalid-request-extra-outer-field.json", "expected exactly 'bundle' and 'signature'"),
    ],
)
def test_invalid_requests(name: str, fragment: str) -> None:
    with pytest.raises(BundleError) as info:
        open_request((VECTORS / name).read_bytes(), STATION)
    assert fragment in info.value.message


def test_response_with_wrong_digest_is_not_bound() -> None:
    request = open_request((VECTORS / "valid-request.json").read_bytes(), STATION)
    response = open_response((VECTORS / "invalid-response-wrong-digest.json").read_bytes(), APPLIANCE)
    with pytest.raises(BundleError, match="does not answer this request"):
        check_binding(response, request)


def test_request_is_not_a_response() -> None:
    with pytest.raises(BundleError, match="not a response bundle"):
        open_response((VECTORS / "valid-request.json").read_bytes(), STATION)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0), st.integers(min_value=0, max_value=7))
def test_any_single_bit_flip_is_refused(position: int, bit: int) -> None:
    data = bytearray((VECTORS / "valid-request.json").read_bytes())
    index = position % len(data)
    data[index] ^= 1 << bit
    try:
        request = open_request(bytes(data), STATION)
    except BundleError:
        return
    # Only flips in insignificant JSON whitespace may survive, and then nothing changed.
    assert request == open_request((VECTORS / "valid-request.json").read_bytes(), STATION)


@pytest.mark.parametrize("name", ["acme\n", "Acme", "acme_1", "-acme", "", "a" * 64])
def test_factory_names_are_matched_whole(name: str) -> None:
    from appliance.core.bundle import check_factory_name

    with pytest.raises(BundleError, match="factory name"):
        check_factory_name(name)


def test_request_id_with_trailing_newline_is_refused() -> None:
    import json

    from appliance.core.bundle import seal
    from appliance.core.identity import Identity

    body = json.loads((VECTORS / "valid-request.json").read_bytes())["bundle"]
    body["request_id"] += "\n"
    forged = seal(body, Identity("station", "vector-station", bytes([0x51]) * 32))
    with pytest.raises(BundleError, match="request_id must be 32 hex digits"):
        open_request(forged, STATION)
