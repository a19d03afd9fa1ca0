"""Write the zoo of real factories under tests/vectors/factories/<era>/.

    python -m tests.factories.make_zoo            # regenerate (deterministic)
    python -m tests.factories.make_zoo --new-keys # first run only: create seed-keys.json

Built from documented facts (tests/factories/facts.py) by code independent of appliance/ and online/.
Per era: offline-creds.tgz, ci-roots.tgz, prod-roots.tgz (download-roots layout), server-online-keys.json,
expected.json (what a correct reader must find), facts.json (facts used, with provenance), README.md.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tests.factories.facts import FACTS
from tests.factories.gobytes import canonical_json, go_tar, gzip_bytes
from tests.factories.zoo_eras import RSA_KEYS, Era, all_eras
from tests.factories.zookeys import load_rsa_seeds, write_rsa_seeds

OUT = Path(__file__).resolve().parents[1] / "vectors" / "factories"


def roots_tgz(envelopes: list[dict[str, object]]) -> bytes:
    """download-roots: N.root.json, canonical envelope, Header{Name, Size, Mode 0644}."""
    return gzip_bytes(go_tar([(f"{i}.root.json", canonical_json(e)) for i, e in enumerate(envelopes, 1)], mode=0o644))


def _server_keys(era: Era) -> bytes:
    f = era.factory
    v1 = f.ci[0]["signed"]
    keys = {}
    for role in ("root", "targets", "snapshot", "timestamp"):
        kid = v1["roles"][role]["keyids"][0]
        k = f.by_id(kid)
        keys[role] = {"keyid": kid, "keytype": k.keytype, "public": k.public_value, "private": k.private_value("seed")}
    targets = f.by_id(v1["roles"]["targets"]["keyids"][0])
    doc = {
        "factory": f.name,
        "note": "TEST KEYS of a fictional factory: the server's online keys, for seeding a sandbox.",
        "online-keys": keys,
        "ci-targets.pub": {"keytype": targets.keytype, "keyval": {"public": targets.public_value}},
    }
    return (json.dumps(doc, indent=2) + "\n").encode()


def _expected(era: Era) -> bytes:
    f = era.factory
    keys = []
    for label, kid in f.ids.items():
        k = f.keys[label]
        rules = [r for r in ("der", "json", "privjson") if k.key_id(r) == kid]
        pubs = sorted(n for n, d in f.creds.items() if n.endswith(".pub") and _pub_of(d) == k.public_value.strip())
        keys.append({"label": label, "keyid": kid, "id-rule": rules[0], "keytype": k.keytype, "creds-pub": pubs})
    doc = {
        "factory": f.name,
        "ci-versions": len(f.ci),
        "prod-versions": len(f.prod),
        "creds-members": sorted(f.creds),
        "keys": keys,
        "ci-root-keyids": f.ci[-1]["signed"]["roles"]["root"]["keyids"],
        "prod-targets": f.prod[-1]["signed"]["roles"]["targets"],
    }
    return (json.dumps(doc, indent=2) + "\n").encode()


def _pub_of(data: bytes) -> str:
    try:
        return str(json.loads(data)["keyval"]["public"]).strip()
    except (ValueError, KeyError, TypeError):
        return ""


def _facts(era: Era) -> bytes:
    doc = [{"id": i, **FACTS[i]} for i in era.factory.facts]
    return (json.dumps(doc, indent=2) + "\n").encode()


def _readme(era: Era) -> bytes:
    f = era.factory
    lines = [
        f"# {era.slug}: factory `{f.name}`",
        "",
        *[f"- {n}" for n in era.notes],
        "",
        f"CI root versions: {len(f.ci)}; production root versions: {len(f.prod)}.",
        "Every fact used is in facts.json with its source; regenerate with `python -m tests.factories.make_zoo`.",
        "",
    ]
    return "\n".join(lines).encode()


def render(era: Era) -> dict[str, bytes]:
    files = {
        "offline-creds.tgz": era.creds_tgz,
        "ci-roots.tgz": roots_tgz(era.factory.ci),
        "prod-roots.tgz": roots_tgz(era.factory.prod),
        "server-online-keys.json": _server_keys(era),
        "expected.json": _expected(era),
        "facts.json": _facts(era),
        "README.md": _readme(era),
    }
    files.update(era.extra)
    return files


def render_all() -> dict[str, dict[str, bytes]]:
    return {era.slug: render(era) for era in all_eras(load_rsa_seeds())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--new-keys", action="store_true", help="create missing RSA keys in seed-keys.json")
    args = ap.parse_args()
    if args.new_keys:
        write_rsa_seeds(RSA_KEYS)
    for slug, files in render_all().items():
        d = OUT / slug
        d.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (d / name).write_bytes(data)
    (OUT / "facts.json").write_bytes((json.dumps(FACTS, indent=2) + "\n").encode())


if __name__ == "__main__":
    main()
