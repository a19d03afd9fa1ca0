"""The five factories of the zoo, each replaying the tool steps of its era (see facts.py)."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import rsa

from tests.factories.gobytes import circe_spaces2, gnu_tar, go_json, go_tar, gzip_bytes
from tests.factories.zoo_model import (
    Factory,
    garage_key_files,
    go_key_files,
    go_map_order,
    rfc3339,
    rotate_root,
    rotate_targets,
    server_v1,
    sign_envelope,
    sync_prod,
    utc,
)
from tests.factories.zookeys import ZooKey, ed_key

# RSA key label -> bits; seed-keys.json holds them (zookeys.write_rsa_seeds).
RSA_KEYS: dict[str, int] = {
    **{f"{era}-online-{r}": 2048 for era in ("a", "b", "c", "d") for r in ("root", "targets", "snapshot", "timestamp")},
    "a-offline-root": 2048,
    "b-fioctl-root": 2048,
    "b-fioctl-targets": 2048,
    "c-fioctl-root-1": 4096,
    "c-fioctl-root-2": 4096,
}


@dataclass
class Era:
    slug: str
    factory: Factory
    creds_tgz: bytes
    extra: dict[str, bytes] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _online(era: str, rsa_keys: dict[str, rsa.RSAPrivateKey]) -> dict[str, ZooKey]:
    roles = ("root", "targets", "snapshot", "timestamp")
    if era in ("a", "b", "c", "d"):
        return {r: ZooKey(f"{era}-online-{r}", "RSA", rsa_key=rsa_keys[f"{era}-online-{r}"]) for r in roles}
    return {r: ed_key(f"{era}-online-{r}") for r in roles}


def _go_creds(f: Factory, seed: str) -> bytes:
    f.use("tar-go-header", "tar-go-order", "tar-go-no-dirs")
    return gzip_bytes(go_tar([(n, f.creds[n]) for n in go_map_order(list(f.creds), seed)]))


def _initial_layout(f: Factory, first_root: ZooKey, targets: ZooKey, created: dt.datetime) -> list[tuple[str, bytes]]:
    """assume-initial-layout: the tarball Foundries emailed at factory creation (garage-sign repo)."""
    f.use("assume-initial-layout", "garage-key-file")
    rpub, rsec = garage_key_files(first_root)
    tpub, tsec = garage_key_files(targets)
    exp = rfc3339(created + dt.timedelta(days=30))
    tsigned = {"_type": "Targets", "expires": exp, "targets": {}, "version": 1}
    tenv = sign_envelope(tsigned, [(f.ids[targets.label], targets)])
    targets_json = circe_spaces2(tenv).encode()
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as z:
        for name, data in [
            ("treehub.json", b'{"no_auth": true}'),
            ("tufrepo.url", f"https://api.foundries.io/ota/repo/{f.name}/".encode()),
            ("root.json", circe_spaces2(f.ci[0]).encode()),
            ("targets.pub", tpub),
            ("targets.sec", tsec),
        ]:
            z.writestr(zipfile.ZipInfo(name, date_time=created.timetuple()[:6]), data)
    config = {
        "reposerver": f"https://api.foundries.io/ota/repo/{f.name}/",
        "auth": {
            "server": "https://app.foundries.io/oauth",
            "client_id": "zoo-client",
            "client_secret": "zoo-not-a-secret",
        },
    }
    return [
        ("tufrepo/config.json", json.dumps(config).encode()),
        ("tufrepo/credentials.zip", zbuf.getvalue()),
        ("tufrepo/keys/root.pub", rpub),
        ("tufrepo/keys/root.sec", rsec),
        ("tufrepo/keys/targets.pub", tpub),
        ("tufrepo/keys/targets.sec", tsec),
        ("tufrepo/roles/root.json", circe_spaces2(f.ci[0]).encode()),
        ("tufrepo/roles/targets.json", targets_json),
        ("tufrepo/roles/targets.json.checksum", json.dumps({"length": len(targets_json)}).encode()),
        ("tufrepo/roles/unsigned/targets.json", circe_spaces2(tsigned).encode()),
    ]


def era_a(rsa_keys: dict[str, rsa.RSAPrivateKey]) -> Era:
    """garage-sign 2020: emailed tarball, root rotated by the fioctl 2020 container script, later synced."""
    f = Factory("zoo-garage2020")
    online = _online("a", rsa_keys)
    created = utc(2020, 3, 2, 10, 0, 0)
    server_v1(f, online, created)
    files = _initial_layout(f, online["root"], online["targets"], created)
    stamp = "2020-06-15T12:34:56.123456"
    new = ZooKey("a-offline-root", "RSA", rsa_key=rsa_keys["a-offline-root"])
    f.use("garage-key-name", "ota-tuf-rsa", "ota-tuf-canonical", "tar-gnu-garage")
    # garage-sign 'root key remove' drops the old key; expiry now + 730 days.
    rotate_root(f, new, "der", utc(2020, 6, 15, 12, 34, 56), keep_old=False, expires="2022-06-15T12:34:56Z")
    npub, nsec = garage_key_files(new)
    files += [
        (f"tufrepo/keys/offline-root-{stamp}.pub", npub),
        (f"tufrepo/keys/offline-root-{stamp}.sec", nsec),
        ("tufrepo/roles/unsigned/root.json", circe_spaces2(f.ci[-1]["signed"]).encode()),
    ]
    files = [(n, d) for n, d in files if n != "tufrepo/roles/root.json"] + [
        ("tufrepo/roles/root.json", circe_spaces2(f.ci[-1]).encode())
    ]
    f.use("sync-prod")
    sync_prod(f)  # fioctl v0.15+ 'rotate-root --sync-prod' brings production to v2
    # GNU tar walks directories in readdir order, not sorted; modes from garage-sign and umask 022.
    dirs = {"tufrepo/": 0o755, "tufrepo/keys/": 0o700, "tufrepo/roles/": 0o755, "tufrepo/roles/unsigned/": 0o755}
    byname = dict(files)
    order = [
        "tufrepo/",
        "tufrepo/roles/",
        "tufrepo/roles/unsigned/",
        "tufrepo/roles/unsigned/root.json",
        "tufrepo/roles/unsigned/targets.json",
        "tufrepo/roles/targets.json.checksum",
        "tufrepo/roles/root.json",
        "tufrepo/roles/targets.json",
        "tufrepo/credentials.zip",
        "tufrepo/keys/",
        f"tufrepo/keys/offline-root-{stamp}.sec",
        "tufrepo/keys/targets.pub",
        "tufrepo/keys/root.sec",
        f"tufrepo/keys/offline-root-{stamp}.pub",
        "tufrepo/keys/targets.sec",
        "tufrepo/keys/root.pub",
        "tufrepo/config.json",
    ]
    assert set(order) - set(dirs) == set(byname)
    members = [
        (n, None, dirs[n]) if n in dirs else (n, byname[n], 0o600 if n.endswith(".sec") else 0o644) for n in order
    ]
    f.creds = byname
    mtime = int(utc(2020, 6, 15, 12, 35, 2).timestamp())
    tgz = gzip_bytes(gnu_tar(members, mtime), os_byte=3)
    return Era(
        "a-garage-2020",
        f,
        tgz,
        notes=[
            "Offline tarball as re-packed by GNU tar inside the 2020 rotation container: directories, modes,"
            " owner root.",
            "Root keys and targets key carry garage-sign names; ids follow the DER rule (ota-tuf).",
            "Production v2 was written by fioctl 'rotate-root --sync-prod' (2021): targets threshold 2 over one key.",
        ],
    )


def era_b(rsa_keys: dict[str, rsa.RSAPrivateKey]) -> Era:
    """fioctl v0.16 (spring 2021): canonical-JSON key ids, RSA-2048, rotate-root then rotate-targets."""
    f = Factory("zoo-fioctl2021")
    online = _online("b", rsa_keys)
    created = utc(2021, 3, 15, 9, 0, 0)
    server_v1(f, online, created)
    f.creds = dict(_initial_layout(f, online["root"], online["targets"], created))
    f.use(
        "keyid-json",
        "rsa-2048-fioctl",
        "rsa-formats",
        "go-json",
        "canonical-docker",
        "rotate-root-sign",
        "rotate-root-keep-old",
        "findsigner",
        "sync-prod",
        "rotate-targets",
        "keytype-names",
    )
    root = ZooKey("b-fioctl-root", "RSA", rsa_key=rsa_keys["b-fioctl-root"])
    rotate_root(f, root, "json", utc(2021, 4, 1, 8, 15, 30), keep_old=True)
    pub, sec = go_key_files(root)
    f.creds[f"tufrepo/keys/fioctl-root-{f.ids[root.label]}.pub"] = pub
    f.creds[f"tufrepo/keys/fioctl-root-{f.ids[root.label]}.sec"] = sec
    sync_prod(f)
    tkey = ZooKey("b-fioctl-targets", "RSA", rsa_key=rsa_keys["b-fioctl-targets"])
    rotate_targets(f, tkey, "json")
    pub, sec = go_key_files(tkey)
    f.creds[f"tufrepo/keys/fioctl-targets-{f.ids[tkey.label]}.pub"] = pub
    f.creds[f"tufrepo/keys/fioctl-targets-{f.ids[tkey.label]}.sec"] = sec
    sync_prod(f)
    return Era(
        "b-fioctl-2021",
        f,
        _go_creds(f, f.name),
        notes=[
            "The emailed tarball was rewritten by fioctl: directories gone, mode 0, Go map order.",
            "Key ids of the fioctl keys are sha256 of canonical JSON (keyid-json), the server's are DER.",
            "The old (first) root key stays in 'keys' after rotation (rotate-root-keep-old).",
        ],
    )


def era_c(rsa_keys: dict[str, rsa.RSAPrivateKey]) -> Era:
    """fioctl 2022: --initial (v0.23) then a September rotation (after 4d9a3de), RSA-4096, JSON ids, no
    offline targets key: production targets threshold 2 over the one online targets key."""
    f = Factory("zoo-fioctl2022")
    online = _online("c", rsa_keys)
    server_v1(f, online, utc(2021, 11, 20, 16, 0, 0))
    f.use(
        "initial-rotation",
        "assume-first-root-json",
        "keyid-json",
        "rsa-formats",
        "go-json",
        "canonical-docker",
        "rotate-root-sign",
        "rotate-root-keep-old",
        "rotate-root-drop-old",
        "changelog",
        "sync-prod",
        "findsigner",
    )
    first = online["root"]
    f.creds["tufrepo/keys/first-root.sec"] = go_key_files(first)[1]
    f.creds["tufrepo/keys/first-root.pub"] = go_json(f.ci[0]["signed"]["keys"][f.ids[first.label]])
    r1 = ZooKey("c-fioctl-root-1", "RSA", rsa_key=rsa_keys["c-fioctl-root-1"])
    rotate_root(f, r1, "json", utc(2022, 1, 10, 14, 2, 3), keep_old=True)
    for suffix, data in zip((".pub", ".sec"), go_key_files(r1), strict=True):
        f.creds[f"tufrepo/keys/fioctl-root-{f.ids[r1.label]}{suffix}"] = data
    sync_prod(f)
    r2 = ZooKey("c-fioctl-root-2", "RSA", rsa_key=rsa_keys["c-fioctl-root-2"])
    cest = dt.timezone(dt.timedelta(hours=2))
    log = {
        "polis-id": "5f1b2c3d4e5f6a7b8c9d0e1f",
        "message": "Yearly rotation <ops> & audit",
        "timestamp": rfc3339(dt.datetime(2022, 9, 20, 11, 30, 0, 123457, tzinfo=cest)),
    }
    rotate_root(f, r2, "json", utc(2022, 9, 20, 9, 30, 0), keep_old=False, changelog=log)
    for suffix, data in zip((".pub", ".sec"), go_key_files(r2), strict=True):
        f.creds[f"tufrepo/keys/fioctl-root-{f.ids[r2.label]}{suffix}"] = data
    sync_prod(f)
    return Era(
        "c-fioctl-2022",
        f,
        _go_creds(f, f.name),
        notes=[
            "Production targets threshold is 2 with ONE targets key (the online one): production targets"
            " cannot be signed until an offline targets key exists.",
            "v2 keeps the first root key in 'keys'; v3 (after 4d9a3de) drops the unused key.",
            "The v3 changelog message contains <, > and &: Go escapes them in key files, canonical JSON does not.",
        ],
    )


def era_d(rsa_keys: dict[str, rsa.RSAPrivateKey]) -> Era:
    """ED25519: a 2022 fioctl v0.27 key (64-byte hex, JSON id) then a 2023 TUF-updates rotation with
    32-byte seed keys, DER ids and x-key-owners, adding an offline targets key in the same version."""
    f = Factory("zoo-fioctl2023")
    online = _online("d", rsa_keys)
    server_v1(f, online, utc(2022, 6, 1, 7, 0, 0))
    f.use(
        "initial-rotation",
        "assume-first-root-json",
        "ed25519-go64",
        "ed25519-seed",
        "ed25519-default",
        "keyid-json",
        "keyid-der",
        "changelog",
        "key-owners",
        "prod-threshold-head",
        "assume-updates-one-version",
        "go-json",
        "canonical-docker",
        "rotate-root-keep-old",
        "rotate-root-drop-old",
        "findsigner",
        "sync-prod",
    )
    first = online["root"]
    f.creds["tufrepo/keys/first-root.sec"] = go_key_files(first)[1]
    f.creds["tufrepo/keys/first-root.pub"] = go_json(f.ci[0]["signed"]["keys"][f.ids[first.label]])
    r1 = ed_key("d-fioctl-root-2022")
    log1 = {
        "polis-id": "60a1b2c3d4e5f60718293a4b",
        "message": "Take root offline",
        "timestamp": rfc3339(dt.datetime(2022, 6, 20, 10, 0, 0, 500000, tzinfo=dt.UTC)),
    }
    rotate_root(f, r1, "json", utc(2022, 6, 20, 10, 0, 0), keep_old=True, changelog=log1)
    for suffix, data in zip((".pub", ".sec"), go_key_files(r1, "go64"), strict=True):
        f.creds[f"tufrepo/keys/fioctl-root-{f.ids[r1.label]}{suffix}"] = data
    sync_prod(f)
    r2, t2 = ed_key("d-fioctl-root-2023"), ed_key("d-fioctl-targets-2023")
    made = rfc3339(utc(2023, 9, 12, 13, 45, 7))
    polis = "60a1b2c3d4e5f60718293a4b"
    log2 = {
        "polis-id": polis,
        "message": "Rotate root, add offline targets key",
        "timestamp": rfc3339(utc(2023, 9, 12, 13, 44, 0)),
    }
    owners = {
        r2.key_id("der"): {"polis-id": polis, "created-at": made},
        t2.key_id("der"): {"polis-id": polis, "created-at": made},
    }
    rotate_root(
        f, r2, "der", utc(2023, 9, 12, 13, 45, 7), keep_old=False, changelog=log2, extra_targets=t2, owners=owners
    )
    for key in (r2, t2):
        role = "root" if key is r2 else "targets"
        for suffix, data in zip((".pub", ".sec"), go_key_files(key), strict=True):
            f.creds[f"tufrepo/keys/fioctl-{role}-{f.ids[key.label]}{suffix}"] = data
    sync_prod(f)
    return Era(
        "d-fioctl-2023",
        f,
        _go_creds(f, f.name),
        notes=[
            "fioctl 2023+ writes ED25519 private keys as the 32-byte seed (a092df9); the 2022 root key in"
            " the same tarball is the 64-byte seed||public form of fioctl v0.27-v0.29.",
            "v2 ids follow the canonical-JSON rule, v3 ids the DER rule; v3 carries x-key-owners.",
            "Production v3: targets threshold 2 over [online, offline] targets keys.",
        ],
    )


def era_e() -> Era:
    """A factory nobody took over yet: root is still the server's online ED25519 key."""
    f = Factory("zoo-firsttime")
    online = _online("e", {})
    server_v1(f, online, utc(2024, 2, 5, 12, 0, 0))
    f.use("first-time-updates", "assume-first-root-json", "ed25519-seed")
    first = online["root"]
    sec = go_json({"keytype": "ED25519", "keyval": {"private": first.private_value("seed")}})
    pub = go_json(f.ci[0]["signed"]["keys"][f.ids[first.label]])
    f.creds = {"tufrepo/keys/first-root.sec": sec, "tufrepo/keys/first-root.pub": pub}
    return Era(
        "e-first-time",
        f,
        _go_creds(f, f.name),
        extra={"first_root.sec.json": sec, "first_root.pub.json": pub},
        notes=[
            "Root v1 is the server's: its private key is what GET /ota/factories/<f>/first_root.sec returns"
            " (first_root.sec.json).",
            "offline-creds.tgz is what 'fioctl keys tuf updates init --first-time --keys' writes; a"
            " first-time ceremony may also start without it.",
        ],
    )


def all_eras(rsa_keys: dict[str, rsa.RSAPrivateKey]) -> list[Era]:
    return [era_a(rsa_keys), era_b(rsa_keys), era_c(rsa_keys), era_d(rsa_keys), era_e()]
