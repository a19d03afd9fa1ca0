"""The zoo is reproducible, self-consistent, and reads back under fioctl's and aktualizr's rules."""

from __future__ import annotations

import ast
import copy
import gzip
import io
import json
import tarfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.factories import goreader as gr
from tests.factories.facts import FACTS
from tests.factories.make_zoo import OUT, render_all

ERAS = ["a-garage-2020", "b-fioctl-2021", "c-fioctl-2022", "d-fioctl-2023", "e-first-time"]
GO_WRITTEN = ERAS[1:]


@pytest.fixture(scope="module")
def fresh() -> dict[str, dict[str, bytes]]:
    return render_all()


def _files(era: str) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (OUT / era).iterdir()}


def test_zoo_has_every_era() -> None:
    assert sorted(p.name for p in OUT.iterdir() if p.is_dir()) == ERAS


@pytest.mark.parametrize("era", ERAS)
def test_regenerates_byte_for_byte(era: str, fresh: dict[str, dict[str, bytes]]) -> None:
    committed = _files(era)
    assert sorted(committed) == sorted(fresh[era])
    for name, data in fresh[era].items():
        if name.endswith(".tgz"):
            # Inflated bytes and the gzip header are exact; deflate output may vary with the zlib build.
            assert gzip.decompress(committed[name]) == gzip.decompress(data), name
            assert committed[name][:10] == data[:10], name
        else:
            assert committed[name] == data, name


@pytest.mark.parametrize("era", ERAS)
def test_chains_verify_as_aktualizr_would(era: str) -> None:
    files = _files(era)
    expected = json.loads(files["expected.json"])
    ci, prod = gr.read_roots(files["ci-roots.tgz"]), gr.read_roots(files["prod-roots.tgz"])
    assert (len(ci), len(prod)) == (expected["ci-versions"], expected["prod-versions"])
    gr.verify_chain(ci)
    gr.verify_chain(prod)
    for c, p in zip(ci, prod, strict=True):
        # Production differs from CI only in the targets threshold (fioctl syncProdRoot/genProdTufRoot).
        c2 = copy.deepcopy(c["signed"])
        c2["roles"]["targets"]["threshold"] = p["signed"]["roles"]["targets"]["threshold"]
        assert c2 == p["signed"]
    assert prod[-1]["signed"]["roles"]["targets"] == expected["prod-targets"]


@pytest.mark.parametrize("era", ERAS)
def test_every_signer_found_by_public_key(era: str) -> None:
    files = _files(era)
    expected = json.loads(files["expected.json"])
    creds = gr.read_creds(files["offline-creds.tgz"])
    assert sorted(creds) == expected["creds-members"]
    ci = gr.read_roots(files["ci-roots.tgz"])
    last = ci[-1]
    signer = gr.find_one_signer(last, creds, last["signed"]["roles"]["root"]["keyids"])
    assert gr.private_matches_public(signer, last["signed"]["keys"][signer.keyid]["keyval"]["public"])
    for k in expected["keys"]:
        for pub in k["creds-pub"]:
            sec = json.loads(creds[pub.replace(".pub", ".sec", 1)])
            key = gr.parse_private(sec["keytype"], sec["keyval"]["private"])
            entry = next(r["signed"]["keys"][k["keyid"]] for r in ci if k["keyid"] in r["signed"]["keys"])
            assert gr.private_matches_public(gr.Signer(k["keyid"], sec["keytype"], key, pub), entry["keyval"]["public"])


@pytest.mark.parametrize("era", ERAS)
def test_key_id_rules_match_the_era(era: str) -> None:
    files = _files(era)
    expected = {k["keyid"]: k["id-rule"] for k in json.loads(files["expected.json"])["keys"]}
    seen = {}
    for root in gr.read_roots(files["ci-roots.tgz"]):
        for kid, entry in root["signed"]["keys"].items():
            seen[kid] = gr.keyid_rule(kid, entry)
    assert seen and seen == {k: v for k, v in expected.items() if k in seen}
    rules = set(seen.values())
    want = {
        "a-garage-2020": {"der"},
        "b-fioctl-2021": {"der", "json"},
        "c-fioctl-2022": {"der", "json"},
        "d-fioctl-2023": {"der", "json"},
        "e-first-time": {"der"},
    }[era]
    assert rules == want


def test_production_threshold_two_over_one_key() -> None:
    prod = gr.read_roots(_files("c-fioctl-2022")["prod-roots.tgz"])
    for root in prod[1:]:
        t = root["signed"]["roles"]["targets"]
        assert t["threshold"] == 2 and len(t["keyids"]) == 1


@pytest.mark.parametrize("era", GO_WRITTEN)
def test_go_tar_headers(era: str) -> None:
    tgz = _files(era)["offline-creds.tgz"]
    assert tgz[:10] == bytes.fromhex("1f8b08000000000000ff")
    raw = gzip.decompress(tgz)
    with tarfile.open(fileobj=io.BytesIO(raw)) as tf:
        ms = tf.getmembers()
    assert ms and all(m.isreg() and m.mode == 0 and m.mtime == 0 and m.uid == 0 and m.uname == "" for m in ms)
    assert raw[257:265] == b"ustar\x0000"
    assert len(raw) == sum(512 + -(-m.size // 512) * 512 for m in ms) + 1024  # no record padding
    names = [m.name for m in ms]
    assert names != sorted(names) or len(names) < 3


def test_garage_tarball_is_gnu_with_directories() -> None:
    raw = gzip.decompress(_files("a-garage-2020")["offline-creds.tgz"])
    with tarfile.open(fileobj=io.BytesIO(raw)) as tf:
        ms = {m.name: m for m in tf.getmembers()}
    assert ms["tufrepo/keys"].isdir() and ms["tufrepo/keys"].mode == 0o700
    assert any(n.startswith("tufrepo/keys/offline-root-2020-") and n.endswith(".sec") for n in ms)
    assert raw[257:265] == b"ustar  \x00" and len(raw) % 10240 == 0


def test_changelog_escaping_go_versus_canonical() -> None:
    raw = gzip.decompress(_files("c-fioctl-2022")["ci-roots.tgz"])
    with tarfile.open(fileobj=io.BytesIO(raw)) as tf:
        f = tf.extractfile("3.root.json")
        assert f is not None
        body = f.read()
    assert b"<ops> & audit" in body and b"-----BEGIN PUBLIC KEY-----\n" in body  # raw in canonical JSON
    creds = gr.read_creds(_files("c-fioctl-2022")["offline-creds.tgz"])
    pub = next(v for k, v in creds.items() if k.endswith(".pub"))
    assert b"\n" not in pub and b"\\n" in pub


def test_ed25519_forms_and_the_pre_a092df9_reader() -> None:
    creds = gr.read_creds(_files("d-fioctl-2023")["offline-creds.tgz"])
    lengths = sorted(
        len(json.loads(v)["keyval"]["private"])
        for k, v in creds.items()
        if k.endswith(".sec") and json.loads(v)["keytype"] == "ED25519"
    )
    assert lengths == [64, 64, 128]
    ci = gr.read_roots(_files("d-fioctl-2023")["ci-roots.tgz"])
    with pytest.raises(gr.GoRuleError, match="Wrong Ed25519 private key size"):
        gr.find_signers(ci[-1], creds, ci[-1]["signed"]["roles"]["root"]["keyids"], ed_seed_ok=False)
    old = gr.find_one_signer(ci[1], creds, ci[1]["signed"]["roles"]["root"]["keyids"], ed_seed_ok=False)
    assert old.keytype == "ED25519"


def test_first_time_factory_root_is_the_server_key() -> None:
    files = _files("e-first-time")
    root = gr.read_roots(files["ci-roots.tgz"])[0]
    first = json.loads(files["first_root.sec.json"])
    key = gr.parse_private(first["keytype"], first["keyval"]["private"])
    kid = root["signed"]["roles"]["root"]["keyids"][0]
    assert gr.private_matches_public(
        gr.Signer(kid, "ED25519", key, "-"), root["signed"]["keys"][kid]["keyval"]["public"]
    )


def test_every_cited_fact_has_a_source() -> None:
    for era in ERAS:
        for fact in json.loads(_files(era)["facts.json"]):
            assert fact["id"] in FACTS and fact["source"] and fact["text"]


def test_generator_and_reader_import_no_project_code() -> None:
    for path in Path(__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else ([node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            )
            assert not any(n.split(".")[0] in ("appliance", "online") for n in names), path


# --- the reader can fail ------------------------------------------------------------------------


def _ci(era: str = "c-fioctl-2022") -> list[dict]:
    return gr.read_roots(_files(era)["ci-roots.tgz"])


def test_reader_refuses_a_tampered_chain() -> None:
    ci = _ci()
    ci[2]["signed"]["expires"] = "2099-01-01T00:00:00Z"
    with pytest.raises(gr.GoRuleError, match="UnmetThreshold"):
        gr.verify_chain(ci)


def test_reader_refuses_duplicate_keyid_signatures() -> None:
    ci = _ci()
    ci[1]["signatures"].append(dict(ci[1]["signatures"][0]))
    with pytest.raises(gr.GoRuleError, match="NonUniqueSignatures"):
        gr.verify_chain(ci)


@pytest.mark.parametrize(("threshold", "ok"), [(0, False), (1, True), (1000, True), (1001, False)])
def test_reader_threshold_bounds(threshold: int, ok: bool) -> None:
    ci = _ci()
    ci[0]["signed"]["roles"]["snapshot"]["threshold"] = threshold
    if ok:
        gr.count_valid(ci[0], ci[1])
    else:
        with pytest.raises(gr.GoRuleError, match="illegal signature threshold"):
            gr.count_valid(ci[0], ci[1])


def test_reader_keytype_case_insensitive_and_method_checked() -> None:
    ci = _ci()
    signer = copy.deepcopy(ci[0])
    for k in signer["signed"]["keys"].values():
        k["keytype"] = "Rsa"
    assert gr.count_valid(signer, ci[0]) == 1
    ci[1]["signatures"][0]["method"] = "rsa-pkcs1"
    with pytest.raises(gr.GoRuleError, match="Unsupported sign method"):
        gr.count_valid(ci[0], ci[1])


def test_reader_refuses_pkcs8_rsa_private_key() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    pkcs8 = (
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        .decode()
        .replace("PRIVATE KEY", "RSA PRIVATE KEY")
    )
    with pytest.raises(gr.GoRuleError, match="PKCS#8"):
        gr.parse_private("RSA", pkcs8)
