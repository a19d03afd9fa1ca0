"""Wave helpers for tests: a sandbox CI build, and a wave built by hand from fioctl's documented rules.

``hand_wave`` is written from the facts (fioctl subcommands/waves/init.go), not with
appliance.core.waves, so the sandbox and the appliance are checked against an
independent construction.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from appliance.core.keys import PrivateKey
from appliance.core.keysarchive import KeysArchive
from appliance.core.metadata import Envelope, Root
from online.sandbox.cibuild import with_ci_build
from online.sandbox.state import SandboxState
from online.targets_api import create_wave, get_ci_targets, get_production_targets


def ci_build(state_dir: Path, factory: str, version: str, **kwargs: Any) -> None:
    state = SandboxState(state_dir)
    current = Envelope.from_bytes(state.targets_bytes(factory))
    online = state.online_key(factory, "targets")
    state.store_targets(factory, with_ci_build(current, online, version, datetime.now(UTC), **kwargs).to_bytes())


def expires_in(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def hand_wave(ci: dict[str, Any], current: dict[str, Any] | None, version: int, tag: str, expires: str) -> dict:
    """``signed`` of a wave: current production targets plus the CI targets, tags replaced by [tag]."""
    targets = copy.deepcopy(current["signed"]["targets"]) if current else {}
    for name, meta in ci.items():
        meta = copy.deepcopy(meta)
        meta["custom"]["tags"] = [tag]
        targets[name] = meta
    return {"_type": "Targets", "expires": expires, "targets": targets, "version": version}


def canonical_bytes(obj: Any) -> bytes:
    """Sorted keys, no whitespace: canonical JSON for the ASCII content of these tests."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def offline_key(archive: KeysArchive, prod: Root) -> tuple[str, PrivateKey]:
    found = archive.signers_for(prod.meta, "targets")
    assert len(found) == 1, "the tarball must hold exactly one offline targets key"
    keyid, key, _ = found[0]
    return keyid, key


def post_offline_wave(client: Any, archive: KeysArchive, name: str, version: int, tag: str = "production") -> dict:
    """What fioctl waves init does against the server, with the offline key in ``archive``."""
    prod = Root.from_bytes(client.get_root(production=True))
    ci = get_ci_targets(client, str(version))
    current = get_production_targets(client, tag).get(tag)
    signed = hand_wave(ci, current, version, tag, expires_in(30))
    keyid, key = offline_key(archive, prod)
    targets = {"signed": signed, "signatures": [key.sign(canonical_bytes(signed), keyid=keyid).to_dict()]}
    create_wave(client, name, str(version), tag, targets)
    return targets
