"""The fuzz targets: what each side does with hostile bytes, from the valid corpus baselines.

One table for tests/core/test_fuzz_parsers.py (hypothesis, bounded) and scripts/fuzz_atheris.py
(libFuzzer, unbounded).  Only AirgapError may leave a target.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from appliance.core.bundle import open_request
from appliance.core.context import open_verified_request, open_verified_response
from appliance.core.errors import AirgapError
from appliance.core.keys import parse_public_key_file
from appliance.core.keysarchive import KeysArchive
from appliance.core.metadata import Root
from appliance.core.privatekeys import parse_secret_key_file
from appliance.core.rootops import RootResult, RotateRootRequest
from appliance.core.rotation import plan_root_rotation, verify_new_pair
from appliance.core.state import ApplianceState
from appliance.core.strictjson import loads
from appliance.core.verify import verify_root_chain

from .corpus import APPLIANCE, NEW_ROOT_KEY, NOW, STATION

CORPUS = Path(__file__).resolve().parents[1] / "vectors" / "bad"
OK_REQUEST = (CORPUS / "ok-request.json").read_bytes()
OK_RESPONSE = (CORPUS / "ok-response.json").read_bytes()
OK_KEYS = (CORPUS / "ok-keys.tgz").read_bytes()
OK_ROOT_BYTES = (CORPUS / "ok-root.json").read_bytes()
REQUEST = open_request(OK_REQUEST, STATION.peer)
ARCHIVE = KeysArchive.from_bytes(OK_KEYS)
OK_ROOT = Root.from_bytes(OK_ROOT_BYTES)


def appliance_side(data: bytes) -> None:
    """What the appliance does with request bytes before it touches any key (the core of Ceremony.open)."""
    context = open_verified_request(data, STATION.peer, ApplianceState(), RotateRootRequest)
    plan_root_rotation(context.current, ARCHIVE, NEW_ROOT_KEY, context.body.params, NOW)


def station_side(data: bytes) -> None:
    """What the station does with response bytes before it contacts the server."""
    bound = open_verified_response(data, APPLIANCE.peer, REQUEST, what="response")
    if not isinstance(bound.result, RootResult):
        return
    old, new = bound.histories.latest, bound.result.pair
    verify_new_pair(old, new, NOW)
    verify_root_chain(old.ci, [new.ci], NOW)


def tarball(data: bytes) -> None:
    parsed = KeysArchive.from_bytes(data)
    parsed.signers_for(OK_ROOT.meta, "root")
    assert KeysArchive.from_bytes(parsed.to_bytes(mtime=0)).files == parsed.files


def keyfile(data: bytes) -> None:
    for parse in (parse_public_key_file, parse_secret_key_file):
        try:
            parse(data)
        except AirgapError:
            pass


def root(data: bytes) -> None:
    verify_root_chain(OK_ROOT, [Root.from_bytes(data)], NOW)


TARGETS: dict[str, Callable[[bytes], object]] = {
    "json": loads,
    "request": appliance_side,
    "response": station_side,
    "tarball": tarball,
    "keyfile": keyfile,
    "root": root,
}
