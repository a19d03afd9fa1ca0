"""The token rehearsal end to end (sandbox on 127.0.0.1, appliance processes, SoftHSM2 tokens),
its signatures checked by our verifier, by pyca/cryptography and by python-tuf."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from securesystemslib.signer import Signature, SSlibKey
from tuf.api.metadata import Metadata
from tuf.api.metadata import Root as TufRoot

from appliance.core.keys import Signer, cross_check_ed25519
from appliance.core.keysarchive import KeysArchive
from appliance.core.metadata import Envelope, Root
from appliance.core.specdialect import spec_root_bytes, to_spec_root
from appliance.core.targets import check_production_targets
from appliance.core.verify import verify_root_update, verify_self_signed
from appliance.shell import token as tk
from online.sandbox.wavestore import WaveStore
from online.scenarios import SCENARIOS, token
from online.softhsm import SoftHsm
from tests.factories import goreader
from tests.helpers_ceremony import NOW

pytestmark = pytest.mark.softhsm


def test_token_scenario_signs_everything_on_tokens(softhsm: SoftHsm, tmp_path: Path) -> None:
    assert SCENARIOS["token"] is token
    ci, prod = token(tmp_path, "ED25519", hsm=softhsm)
    assert ci.version == prod.version == 3
    archive = KeysArchive.from_bytes((tmp_path / "offline-creds.tgz").read_bytes())
    assert not [n for n in archive.files if n.endswith(".sec")]  # every offline key left the tarball
    refs = {e.keyid: e for e in archive.entries if e.token is not None}
    root_id = ci.meta.roles["root"].keyids[0]
    targets_id = ci.meta.roles["targets"].keyids[1]
    assert {root_id, targets_id} <= set(refs)
    assert all(len(e.token.uris) == 2 for e in refs.values())  # type: ignore[union-attr]
    targets_only = KeysArchive.from_bytes((tmp_path / "targets-only.tgz").read_bytes())
    assert sorted(targets_only.files) == [f"tufrepo/keys/fioctl-targets-{targets_id}.{s}" for s in ("p11", "pub")]

    # Our verifier: the chain v1 -> v3 of both roots, and the wave signed with the token targets key.
    history = tmp_path / "sandbox-state" / "factories" / "acme-rehearsal"
    ci_chain = [Root.from_bytes((history / "ci" / f"{n}.root.json").read_bytes()) for n in (1, 2, 3)]
    prod_chain = [Root.from_bytes((history / "prod" / f"{n}.root.json").read_bytes()) for n in (1, 2, 3)]
    assert ci_chain[-1].to_bytes() == ci.to_bytes() and prod_chain[-1].to_bytes() == prod.to_bytes()
    first = ci_chain[0]
    for chain in (ci_chain, prod_chain):
        verify_self_signed(chain[0])
        for older, newer in zip(chain, chain[1:], strict=False):
            verify_root_update(older, newer, NOW)
    published = WaveStore(tmp_path / "sandbox-state" / "factories" / "acme-rehearsal").production_targets("production")
    assert published is not None
    wave = Envelope.from_dict(published.to_dict())
    assert check_production_targets(wave, prod).count == 2
    assert targets_id in {s.keyid for s in wave.signatures}

    # The independent Go-rules reader (aktualizr's root update checks) accepts both chains, and
    # fioctl's findTufSigners rule fails on the token tarball (no .sec next to the root's .pub).
    creds = goreader.read_creds((tmp_path / "offline-creds.tgz").read_bytes())
    for chain in (ci_chain, prod_chain):
        goreader.verify_chain([json.loads(r.to_bytes()) for r in chain])
    assert goreader.count_valid(json.loads(prod.to_bytes()), json.loads(wave.to_bytes()), "targets") == 2
    with pytest.raises(goreader.GoRuleError, match=r"Unable to parse JSON for .*\.sec"):
        goreader.find_signers(json.loads(ci.to_bytes()), creds, [root_id])

    # pyca/cryptography and securesystemslib (python-tuf's crypto) accept every offline signature.
    for envelope, keys in ((ci.envelope, ci.meta.keys), (wave, prod.meta.keys)):
        payload = envelope.signed_bytes()
        for sig in envelope.signatures:
            if sig.keyid not in refs:
                continue
            public = keys[sig.keyid]
            assert cross_check_ed25519(public, payload, sig.sig)
            sslib = SSlibKey.from_crypto(serialization.load_der_public_key(public.spki_der), keyid=sig.keyid)
            sslib.verify_signature(Signature(sig.keyid, sig.sig.hex()), payload)

    # python-tuf: the same roots restated in the spec dialect and re-signed through the tokens.
    signers: dict[str, Signer] = {
        keyid: tk.unlock(entry.token, entry.public, lambda _t: softhsm.pin)  # type: ignore[arg-type]
        for keyid, entry in refs.items()
        if keyid in (first.meta.roles["root"].keyids[0], root_id)
    }
    try:
        spec = [
            Metadata[TufRoot].from_bytes(
                spec_root_bytes(to_spec_root(r.meta, [signers[s.keyid] for s in r.signatures if s.keyid in signers]))
            )
            for r in ci_chain
        ]
        for older, newer in zip(spec, spec[1:], strict=False):
            older.verify_delegate(TufRoot.type, newer)
            newer.verify_delegate(TufRoot.type, newer)
    finally:
        tk.close_sessions()

    _resign_on_tokens(softhsm, tmp_path, ci, root_id, targets_id)


def _resign_on_tokens(softhsm: SoftHsm, work: Path, ci: Root, root_id: str, targets_id: str) -> None:
    """After the token scenario every offline key is on a token: resign-root signs with the token root
    key, resign-targets with the token targets key of the targets-only tarball."""
    from datetime import UTC, datetime

    from appliance.core.operations import ResignRootRequest
    from appliance.core.resign import ResignParameters
    from online.config import ConnectionOptions
    from online.exporting import export_request, resign_targets_request
    from online.importing import import_bundle
    from online.sandbox.server import SandboxServer
    from online.scenarios import token_appliance

    stick, station, appliance_home = work / "usb-stick", work / "station-home", work / "appliance-home"
    run = token_appliance(softhsm)
    longer = ResignParameters.from_dict({"validity_days": 400})
    with SandboxServer(work / "sandbox-state") as server:
        connection = ConnectionOptions(server=server.url, factory="acme-rehearsal", token_file=work / "token")
        for operation, build, keys in (
            ("resign-root", lambda c: ResignRootRequest(longer), work / "offline-creds.tgz"),
            ("resign-targets", lambda c: resign_targets_request(c, longer, []), work / "targets-only.tgz"),
        ):
            request = export_request(build, out=stick, connection=connection, home=station)
            run(
                [operation, "--home", str(appliance_home), "--keys", str(keys), "--request", str(request)]
                + ["--out", str(stick), "--yes"]
            )
            import_bundle(stick / request.name.replace("request-", "response-"), connection=connection, home=station)
        client = connection.resolve().client()
        new_ci = Root.from_bytes(client.get_root())
        new_prod = Root.from_bytes(client.get_root(production=True))
    now = datetime.now(UTC)
    assert new_ci.version == ci.version + 1 and [s.keyid for s in new_ci.signatures] == [root_id]
    assert new_ci.meta.roles == ci.meta.roles and new_ci.meta.expires_at > ci.meta.expires_at
    verify_root_update(ci, new_ci, now)
    published = WaveStore(work / "sandbox-state" / "factories" / "acme-rehearsal").production_targets("production")
    assert published is not None and published.signed["expires"] > ci.meta.expires
    assert targets_id in {s.keyid for s in published.signatures}
    assert check_production_targets(published, new_prod).count == 2
