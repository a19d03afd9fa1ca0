"""python-tuf as an oracle: the rules table judged by ``tuf.ngclient.Updater``.

Each chain is restated in the spec-TUF dialect and served by an in-memory fetcher:
``N.root.json`` is the next document of the chain (so a skipped or reused version
number reaches the client as it would from a hostile mirror), plus minimal
timestamp, snapshot and targets signed by the online key so that ``refresh()``
runs through the final-root expiry check.  From every root version but the newest,
python-tuf must reach the newest root exactly when our verifier does.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from securesystemslib.signer import CryptoSigner
from tuf.api import exceptions
from tuf.api.metadata import Metadata, Snapshot, Targets, Timestamp
from tuf.ngclient import FetcherInterface, Updater

from appliance.core.specdialect import spec_keyid, spec_root_bytes
from tests.core.test_rules_root_rotation import CASES, Case
from tests.helpers_rotation import ONLINE_SEED, Version, online, our_verdict

BASE = "https://repo.invalid/metadata/"
FAR = datetime(2099, 1, 1, tzinfo=UTC)


class MemoryFetcher(FetcherInterface):
    """Serves a fixed set of files; anything else is a 404 (which ends the root walk)."""

    def __init__(self, files: Mapping[str, bytes]) -> None:
        self.files = dict(files)
        self.requested: list[str] = []

    def _fetch(self, url: str) -> Iterator[bytes]:
        self.requested.append(url)
        name = url.removeprefix(BASE)
        if name not in self.files:
            raise exceptions.DownloadHTTPError(f"{name} not found", 404)
        return iter([self.files[name]])


def _online_metadata() -> dict[str, bytes]:
    signer = CryptoSigner(Ed25519PrivateKey.from_private_bytes(bytes([ONLINE_SEED]) * 32))
    assert signer.public_key.keyid == spec_keyid(online().public_key)
    out = {}
    for name, signed in (
        ("targets", Targets(version=1, expires=FAR)),
        ("snapshot", Snapshot(version=1, expires=FAR)),
        ("timestamp", Timestamp(version=1, expires=FAR)),
    ):
        md = Metadata(signed)
        md.sign(signer)
        out[f"{name}.json"] = out[f"1.{name}.json"] = md.to_bytes()
    return out


ONLINE_FILES = _online_metadata()


def tuf_verdict(chain: list[Version], start: int, metadata_dir: Path) -> str | None:
    """None when python-tuf walks from ``chain[start]`` to the newest root, else its error class."""
    first = chain[start].spec["signed"]["version"]
    files = dict(ONLINE_FILES)
    for offset, version in enumerate(chain[start + 1 :], start=1):
        files[f"{first + offset}.root.json"] = spec_root_bytes(version.spec)
    metadata_dir.mkdir()
    fetcher = MemoryFetcher(files)
    try:
        updater = Updater(str(metadata_dir), BASE, fetcher=fetcher, bootstrap=spec_root_bytes(chain[start].spec))
        updater.refresh()
    except exceptions.RepositoryError as exc:
        return type(exc).__name__
    trusted = (metadata_dir / "root.json").read_bytes()
    assert trusted == spec_root_bytes(chain[-1].spec), "refresh() ended before the newest root"
    assert f"{BASE}timestamp.json" in fetcher.requested
    return None


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_python_tuf_agrees(case: Case, tmp_path: Path) -> None:
    chain = case.build()
    theirs = tuf_verdict(chain, 0, tmp_path / "from-1")
    expected_accept = case.accepted if case.tuf_accepts is None else case.tuf_accepts
    if expected_accept:
        assert theirs is None, f"python-tuf refused with {theirs}"
    else:
        assert theirs is not None, "python-tuf accepted a chain the table says it refuses"
        assert theirs == case.tuf_error
    # Every later starting point: the two implementations must agree.
    for start in range(1, len(chain) - 1):
        ours = our_verdict(chain, start) is None
        assert (tuf_verdict(chain, start, tmp_path / f"from-{start + 1}") is None) == ours, f"start #{start}"


def test_disagreements_are_only_the_documented_ones() -> None:
    assert [c.name for c in CASES if c.tuf_accepts is not None] == ["same public key under two key ids"]


def test_fetcher_serves_only_what_it_holds(tmp_path: Path) -> None:
    """An empty repository: the Updater stops at its bootstrap root and then fails on timestamp."""
    chain = CASES[0].build()
    fetcher = MemoryFetcher({})
    updater = Updater(str(tmp_path), BASE, fetcher=fetcher, bootstrap=spec_root_bytes(chain[0].spec))
    with pytest.raises(exceptions.DownloadHTTPError):
        updater.refresh()
    assert fetcher.requested == [f"{BASE}2.root.json", f"{BASE}timestamp.json"]
