"""A CI build in the sandbox: new targets in the CI targets.json, signed by the online key (pure).

Real factories get CI targets from their CI builds; the sandbox stands in with one
synthetic OSTree target per hardware id.  ``custom`` carries the fields fioctl
reads (client.TufCustom: name, version, hardwareIds, tags, targetFormat); the CI
targets.json's version goes up by one and its signature is the online key's, as
for every CI targets.json.  This is the CI path, not the wave path: waves are
built and signed offline.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from appliance.core.errors import UsageError
from appliance.core.keys import PrivateKey
from appliance.core.metadata import TARGETS_TYPE, Envelope
from appliance.core.strictjson import canonical
from appliance.core.timefmt import add_years, format_expires
from appliance.core.waves import check_tag, parse_version

DEFAULT_HARDWARE_ID = "raspberrypi4-64"


def with_ci_build(
    ci: Envelope,
    online: PrivateKey,
    version: str,
    now: datetime,
    *,
    hardware_ids: Sequence[str] = (DEFAULT_HARDWARE_ID,),
    tags: Sequence[str] = ("main",),
) -> Envelope:
    parse_version(version)
    for tag in tags:
        check_tag(tag)
    current = ci.signed.get("targets")
    targets: dict[str, Any] = dict(current) if isinstance(current, dict) else {}
    for hw in hardware_ids:
        check_tag(hw, "hardware id")
        name = f"{hw}-lmp-{version}"
        if name in targets:
            raise UsageError(f"CI target {name} already exists")
        content = f"sandbox image {name}".encode()
        targets[name] = {
            "hashes": {"sha256": hashlib.sha256(content).hexdigest()},
            "length": len(content),
            "custom": {
                "name": f"{hw}-lmp",
                "version": version,
                "hardwareIds": [hw],
                "tags": list(tags),
                "targetFormat": "OSTREE",
                "createdAt": format_expires(now),
            },
        }
    signed = {
        "_type": TARGETS_TYPE,
        "expires": format_expires(add_years(now, 1)),
        "targets": targets,
        "version": ci.version + 1,
    }
    return Envelope(signed, (online.sign(canonical(signed)),))
