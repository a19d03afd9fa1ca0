"""Every check the sandbox applies to an uploaded CI or production root, over real HTTP."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from appliance.core.metadata import Root
from appliance.core.privatekeys import PrivateKey
from appliance.core.timefmt import format_expires
from appliance.core.verify import verify_root_update
from online.sandbox.rules import MAX_UPLOAD_BYTES
from tests.helpers_sandbox import call, next_root, repo, with_targets_threshold

NEW_ROOT = PrivateKey.from_ed25519_seed(bytes([0x51]) * 32)
OTHER = PrivateKey.from_ed25519_seed(bytes([0x52]) * 32)
UPLOAD = repo("acme", "root")
PROD_UPLOAD = UPLOAD + "?production=1"


def rotation(handle, **kwargs) -> Root:
    """CI root v2 with a new root key, signed by the old and the new root key (a valid rotate-root)."""
    kwargs.setdefault("signers", [handle.root_key, NEW_ROOT])
    kwargs.setdefault("root_keys", [NEW_ROOT])
    return next_root(handle.ci_root, **kwargs)


def post(handle, body: bytes, production: bool = False):
    return call(handle.url, "POST", PROD_UPLOAD if production else UPLOAD, token=handle.token, body=body)


def versions(handle) -> tuple[int, int]:
    state = handle.server.state
    return state.current_version("acme", False), state.current_version("acme", True)


def test_good_rotation_is_accepted_ci_then_production(sandbox_server) -> None:
    new = rotation(sandbox_server)
    verify_root_update(sandbox_server.ci_root, new, datetime.now(UTC))  # the test's own root is sound
    answer = post(sandbox_server, new.to_bytes())
    assert answer.status == 200, answer.body
    assert answer.json()["version"] == 2
    assert versions(sandbox_server) == (2, 1)
    assert post(sandbox_server, new.to_bytes(), production=True).status == 200
    assert versions(sandbox_server) == (2, 2)
    for path in ("root.json", "2.root.json", "root.json?production=1", "2.root.json?production=1"):
        served = call(sandbox_server.url, "GET", repo("acme", path), token=sandbox_server.token)
        assert served.status == 200
        assert Root.from_bytes(served.body).to_dict() == new.to_dict()
    old = call(sandbox_server.url, "GET", repo("acme", "1.root.json"), token=sandbox_server.token)
    assert Root.from_bytes(old.body).to_dict() == sandbox_server.ci_root.to_dict()


def test_two_rotations_in_a_row(sandbox_server) -> None:
    v2 = rotation(sandbox_server)
    for production in (False, True):
        assert post(sandbox_server, v2.to_bytes(), production).status == 200
    v3 = next_root(v2, signers=[NEW_ROOT, OTHER], root_keys=[OTHER])
    for production in (False, True):
        assert post(sandbox_server, v3.to_bytes(), production).status == 200
    assert versions(sandbox_server) == (3, 3)


@dataclass(frozen=True)
class Bad:
    name: str
    build: Callable[..., bytes]  # (handle) -> body
    status: int
    code: str
    fragment: str
    production: bool = False
    before: Callable[..., None] | None = None  # (handle) -> None, runs before the upload


def _ci_v2(handle) -> None:
    assert post(handle, rotation(handle).to_bytes()).status == 200


def _mismatched_prod(handle) -> bytes:
    return rotation(handle, expires=format_expires(datetime.now(UTC) + timedelta(days=30))).to_bytes()


def _ci_v2_targets_threshold_2(handle) -> None:
    online = handle.ci_root.meta.roles["targets"].keyids[0]
    handle.ci_v2 = next_root(
        handle.ci_root, signers=[handle.root_key], extra_keys=[OTHER], targets=([online, OTHER.keyid], 2)
    )
    assert post(handle, handle.ci_v2.to_bytes()).status == 200


def _ci_v2_kept(handle) -> None:
    handle.ci_v2 = rotation(handle)
    assert post(handle, handle.ci_v2.to_bytes()).status == 200


BAD_UPLOADS = [
    Bad("version skip", lambda h: rotation(h, version=3).to_bytes(), 409, "version-conflict", "expected version 2"),
    Bad("version reuse", lambda h: rotation(h, version=1).to_bytes(), 409, "version-conflict", "expected version 2"),
    Bad(
        "missing old signature",
        lambda h: rotation(h, signers=[NEW_ROOT]).to_bytes(),
        422,
        "verification-failed",
        "signed by 0 of 1 required old root key(s)",
    ),
    Bad(
        "missing new signature",
        lambda h: rotation(h, signers=[h.root_key]).to_bytes(),
        422,
        "verification-failed",
        "signed by 0 of 1 required new root key(s)",
    ),
    Bad(
        "signed by a stranger only",
        lambda h: rotation(h, signers=[OTHER]).to_bytes(),
        422,
        "verification-failed",
        "old root key",
    ),
    Bad(
        "expired",
        lambda h: rotation(h, expires="2020-01-01T00:00:00Z").to_bytes(),
        422,
        "verification-failed",
        "has expired",
    ),
    Bad("not JSON", lambda h: b"this is not json", 400, "bad-json", "not valid JSON"),
    Bad("duplicate keys", lambda h: b'{"signed": {}, "signed": {}, "signatures": []}', 400, "bad-json", "duplicate"),
    Bad("float", lambda h: b'{"signed": {"version": 2.0}, "signatures": []}', 400, "bad-json", "floating point"),
    Bad("invalid UTF-8", lambda h: b'{"signed": "\xff"}', 400, "bad-json", "UTF-8"),
    Bad("array", lambda h: b"[]", 400, "bad-json", "must be a JSON object"),
    Bad("no roles", lambda h: b'{"signed": {"_type": "Root"}, "signatures": []}', 400, "bad-metadata", "version"),
    Bad(
        "targets metadata",
        lambda h: b'{"signed": {"_type": "Targets", "version": 2}, "signatures": []}',
        400,
        "bad-metadata",
        "expected Root",
    ),
    Bad(
        "production before CI",
        lambda h: rotation(h).to_bytes(),
        409,
        "ci-root-missing",
        "before CI root version 2",
        production=True,
    ),
    Bad(
        "production signed part differs",
        _mismatched_prod,
        409,
        "prod-mismatch",
        "differs from CI root v2 in: expires",
        production=True,
        before=_ci_v2,
    ),
    Bad(
        "production targets threshold lower than CI",
        lambda h: with_targets_threshold(h.ci_v2, 1, [h.root_key]).to_bytes(),
        409,
        "prod-mismatch",
        "roles.targets.threshold (1 is lower than CI's 2)",
        production=True,
        before=_ci_v2_targets_threshold_2,
    ),
    Bad(
        "CI upload while production lags",
        lambda h: next_root(h.ci_v2, signers=[NEW_ROOT]).to_bytes(),
        409,
        "prod-out-of-sync",
        "production root out of sync",
        before=_ci_v2_kept,
    ),
    Bad(
        "production version skip",
        lambda h: next_root(h.ci_root, version=3, signers=[h.root_key]).to_bytes(),
        409,
        "version-conflict",
        "production root version 3",
        production=True,
    ),
]


@pytest.mark.parametrize("case", BAD_UPLOADS, ids=lambda c: c.name)
def test_bad_upload_is_refused_and_changes_nothing(sandbox_server, case: Bad) -> None:
    if case.before is not None:
        case.before(sandbox_server)
    before = versions(sandbox_server)
    files_before = sorted(p.name for p in (sandbox_server.state_dir / "factories" / "acme").rglob("*"))
    answer = post(sandbox_server, case.build(sandbox_server), case.production)
    assert answer.status == case.status, answer.body
    body = answer.json()
    assert body["error"] == case.code
    assert case.fragment in body["message"]
    assert versions(sandbox_server) == before
    assert sorted(p.name for p in (sandbox_server.state_dir / "factories" / "acme").rglob("*")) == files_before


def test_verification_failure_lists_problems(sandbox_server) -> None:
    answer = post(sandbox_server, rotation(sandbox_server, signers=[]).to_bytes())
    assert answer.status == 422
    assert answer.json()["problems"] == [
        "signed by 0 of 1 required old root key(s)",
        "signed by 0 of 1 required new root key(s)",
    ]


def test_duplicate_signature_key_id_is_422(sandbox_server) -> None:
    good = rotation(sandbox_server).to_dict()
    good["signatures"].append(dict(good["signatures"][0]))
    answer = post(sandbox_server, json.dumps(good).encode())
    assert answer.status == 422
    assert "signs twice" in answer.json()["message"]


def test_production_may_raise_the_targets_threshold(sandbox_server_targets) -> None:
    handle = sandbox_server_targets
    ci_v3 = next_root(handle.ci_root, signers=[handle.root_key, NEW_ROOT], root_keys=[NEW_ROOT])
    prod_v3 = with_targets_threshold(ci_v3, 2, [handle.root_key, NEW_ROOT])
    assert post(handle, ci_v3.to_bytes()).status == 200
    assert post(handle, prod_v3.to_bytes(), production=True).status == 200
    served = call(handle.url, "GET", repo("acme", "root.json?production=1"), token=handle.token)
    assert Root.from_bytes(served.body).meta.roles["targets"].threshold == 2


def test_production_may_not_equal_a_different_ci_root(sandbox_server_targets) -> None:
    handle = sandbox_server_targets
    ci_v3 = next_root(handle.ci_root, signers=[handle.root_key])
    assert post(handle, ci_v3.to_bytes()).status == 200
    # Same expiry as CI v3: two clock readings a second apart would add "expires" to the problems.
    other_v3 = next_root(
        handle.prod_root, signers=[handle.root_key, NEW_ROOT], root_keys=[NEW_ROOT], expires=ci_v3.meta.expires
    )
    answer = post(handle, other_v3.to_bytes(), production=True)
    assert answer.status == 409
    assert answer.json()["problems"] == ["keys", "roles.root"]


def test_oversize_upload_is_413(sandbox_server) -> None:
    answer = post(sandbox_server, b" " * (MAX_UPLOAD_BYTES + 1))
    assert answer.status == 413
    assert answer.json()["error"] == "too-large"
    assert versions(sandbox_server) == (1, 1)


def test_upload_without_content_length_is_411(sandbox_server) -> None:
    import http.client
    from urllib.parse import urlsplit

    split = urlsplit(sandbox_server.url)
    conn = http.client.HTTPConnection(split.hostname, split.port, timeout=10)
    conn.putrequest("POST", UPLOAD)
    conn.putheader("OSF-TOKEN", sandbox_server.token)
    conn.endheaders()
    resp = conn.getresponse()
    assert resp.status == 411
    conn.close()


def test_unauthenticated_upload_changes_nothing(sandbox_server) -> None:
    answer = call(sandbox_server.url, "POST", UPLOAD, token="nope", body=rotation(sandbox_server).to_bytes())
    assert answer.status == 401
    assert versions(sandbox_server) == (1, 1)


def test_fault_injection_fails_next_production_uploads_with_503(sandbox_server) -> None:
    new = rotation(sandbox_server)
    assert post(sandbox_server, new.to_bytes()).status == 200
    sandbox_server.server.inject_faults(fail_prod_uploads=2)
    for remaining in (1, 0):
        answer = post(sandbox_server, new.to_bytes(), production=True)
        assert answer.status == 503
        assert answer.headers["retry-after"] == "1"
        assert answer.json()["error"] == "unavailable"
        assert f"({remaining} more pending)" in answer.json()["message"]
        assert versions(sandbox_server) == (2, 1)
    assert post(sandbox_server, new.to_bytes(), production=True).status == 200
    assert versions(sandbox_server) == (2, 2)
    assert sandbox_server.server.state.faults() == {"fail_prod_uploads": 0}


def test_fault_file_written_by_another_process_is_honoured(sandbox_server) -> None:
    (sandbox_server.state_dir / "faults.json").write_text('{"fail_prod_uploads": 1}')
    new = rotation(sandbox_server)
    assert post(sandbox_server, new.to_bytes()).status == 200  # CI uploads are not affected
    assert post(sandbox_server, new.to_bytes(), production=True).status == 503
    assert post(sandbox_server, new.to_bytes(), production=True).status == 200


def test_concurrent_uploads_of_the_same_version_accept_exactly_one(sandbox_server) -> None:
    roots = [
        rotation(sandbox_server, root_keys=[key], signers=[sandbox_server.root_key, key])
        for key in (PrivateKey.from_ed25519_seed(bytes([0x60 + i]) * 32) for i in range(8))
    ]
    statuses: list[int] = []

    def upload(root: Root) -> None:
        statuses.append(post(sandbox_server, root.to_bytes()).status)

    threads = [threading.Thread(target=upload, args=(root,)) for root in roots]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200] + [409] * 7
    assert versions(sandbox_server) == (2, 1)
    served = Root.from_bytes(
        call(sandbox_server.url, "GET", repo("acme", "2.root.json"), token=sandbox_server.token).body
    )
    assert served.to_dict() in [r.to_dict() for r in roots]
