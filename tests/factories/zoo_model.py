"""A small model of a factory's history: roots as the server and fioctl build them, and the creds map.

Each mutation mirrors one tool step (named in the docstring with its fact id from facts.py).
"""

from __future__ import annotations

import copy
import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from tests.factories.gobytes import b64, canonical_json, circe_spaces2, go_json
from tests.factories.zookeys import ZooKey

Json = dict[str, Any]


def rfc3339(t: dt.datetime) -> str:
    """Go time.Time MarshalJSON (RFC3339Nano: fraction trimmed of trailing zeros, 'Z' for UTC)."""
    base = t.strftime("%Y-%m-%dT%H:%M:%S")
    if t.microsecond:
        base += ("." + f"{t.microsecond:06d}").rstrip("0")
    off = t.utcoffset()
    if off is None or off == dt.timedelta(0):
        return base + "Z"
    mins = int(off.total_seconds() // 60)
    sign = "+" if mins >= 0 else "-"
    return f"{base}{sign}{abs(mins) // 60:02d}:{abs(mins) % 60:02d}"


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)  # type: ignore[misc]


@dataclass
class Factory:
    name: str
    ci: list[Json] = field(default_factory=list)  # signed envelopes, index = version - 1
    prod: list[Json] = field(default_factory=list)
    creds: dict[str, bytes] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)  # key label -> key id as written in roots
    keys: dict[str, ZooKey] = field(default_factory=dict)
    facts: list[str] = field(default_factory=list)

    def use(self, *fact_ids: str) -> None:
        for f in fact_ids:
            if f not in self.facts:
                self.facts.append(f)

    def add_key(self, key: ZooKey, rule: str) -> str:
        kid = key.key_id(rule)
        self.keys[key.label] = key
        self.ids[key.label] = kid
        return kid

    def by_id(self, kid: str) -> ZooKey:
        for label, k in self.ids.items():
            if k == kid:
                return self.keys[label]
        raise KeyError(kid)


def sign_envelope(signed: Json, signers: list[tuple[str, ZooKey]]) -> Json:
    """Signatures over the canonical JSON of 'signed' (fioctl signTufRoot / SignRoot; ota-tuf signPayload)."""
    msg = canonical_json(signed)
    sigs = [{"keyid": kid, "method": key.method, "sig": b64(key.sign(msg))} for kid, key in signers]
    return {"signatures": sigs, "signed": signed}


def server_v1(f: Factory, online: dict[str, ZooKey], created: dt.datetime) -> Json:
    """assume-server-v1: online keys, DER ids, threshold 1, one-year expiry, signed by the online root."""
    f.use("assume-server-v1", "ota-tuf-keyid")
    keys: Json = {}
    roles: Json = {}
    for role in ("root", "snapshot", "targets", "timestamp"):
        kid = f.add_key(online[role], "der")
        keys[kid] = online[role].ats_public()
        roles[role] = {"keyids": [kid], "threshold": 1}
    signed = {
        "_type": "Root",
        "consistent_snapshot": False,
        "expires": rfc3339(created + dt.timedelta(days=365)),
        "keys": keys,
        "roles": roles,
        "version": 1,
    }
    env = sign_envelope(signed, [(f.ids[online["root"].label], online["root"])])
    f.ci.append(env)
    f.prod.append(copy.deepcopy(env))
    return env


def rotate_root(
    f: Factory,
    new: ZooKey,
    rule: str,
    now: dt.datetime,
    *,
    keep_old: bool,
    changelog: Json | None = None,
    expires: str | None = None,
    extra_targets: ZooKey | None = None,
    owners: Json | None = None,
) -> Json:
    """rotate-root-sign (+ rotate-root-keep-old or rotate-root-drop-old, changelog when given)."""
    cur = copy.deepcopy(f.ci[-1]["signed"])
    old_id = cur["roles"]["root"]["keyids"][0]
    new_id = f.add_key(new, rule)
    cur["keys"][new_id] = new.ats_public()
    cur["roles"]["root"]["keyids"] = [new_id]
    if extra_targets is not None:
        tid = f.add_key(extra_targets, rule)
        cur["keys"][tid] = extra_targets.ats_public()
        cur["roles"]["targets"]["keyids"] = cur["roles"]["targets"]["keyids"][:1] + [tid]
    cur["expires"] = expires or rfc3339((now + dt.timedelta(days=365)).replace(microsecond=0))
    cur["version"] += 1
    in_use = {k for r in cur["roles"].values() for k in r["keyids"]}
    if keep_old:
        in_use |= {s["keyid"] for s in f.ci[-1]["signatures"]}
    cur["keys"] = {k: v for k, v in cur["keys"].items() if k in in_use}
    if changelog is not None:
        cur["x-changelog"] = changelog
    if owners:
        cur["x-key-owners"] = {k: v for k, v in {**cur.get("x-key-owners", {}), **owners}.items() if k in in_use}
    env = sign_envelope(cur, [(old_id, f.by_id(old_id)), (new_id, new)])
    f.ci.append(env)
    return env


def rotate_targets(f: Factory, new: ZooKey, rule: str) -> Json:
    """rotate-targets: [online, new], threshold 1, version+1, expiry unchanged, signed by root only."""
    cur = copy.deepcopy(f.ci[-1]["signed"])
    online_id = cur["roles"]["targets"]["keyids"][0]
    new_id = f.add_key(new, rule)
    cur["keys"][new_id] = new.ats_public()
    cur["roles"]["targets"] = {"keyids": [online_id, new_id], "threshold": 1}
    cur["version"] += 1
    in_use = {k for r in cur["roles"].values() for k in r["keyids"]} | {s["keyid"] for s in f.ci[-1]["signatures"]}
    cur["keys"] = {k: v for k, v in cur["keys"].items() if k in in_use}
    root_id = cur["roles"]["root"]["keyids"][0]
    env = sign_envelope(cur, [(root_id, f.by_id(root_id))])
    f.ci.append(env)
    return env


def sync_prod(f: Factory) -> Json:
    """sync-prod: CI root with targets threshold 2, signed by the CI root's signers in the same order."""
    ci = f.ci[-1]
    signed = copy.deepcopy(ci["signed"])
    signed["roles"]["targets"]["threshold"] = 2
    env = sign_envelope(signed, [(s["keyid"], f.by_id(s["keyid"])) for s in ci["signatures"]])
    f.prod.append(env)
    return env


def go_key_files(key: ZooKey, ed_form: str = "seed") -> tuple[bytes, bytes]:
    """(pub, sec) as fioctl writes them: json.Marshal(client.AtsKey) (go-json)."""
    pub = go_json({"keytype": key.keytype, "keyval": {"public": key.public_value}})
    sec = go_json({"keytype": key.keytype, "keyval": {"private": key.private_value(ed_form)}})
    return pub, sec


def garage_key_files(key: ZooKey) -> tuple[bytes, bytes]:
    """(pub, sec) as garage-sign writes them (garage-key-file)."""
    pub = circe_spaces2({"keyval": {"public": key.public_value}, "keytype": key.keytype})
    sec = circe_spaces2({"keyval": {"private": key.private_value()}, "keytype": key.keytype})
    return pub.encode(), sec.encode()


def go_map_order(names: list[str], seed: str) -> list[str]:
    """tar-go-order: Go ranges over the creds map in random order; a seeded shuffle stands in."""
    out = sorted(names)
    random.Random(seed).shuffle(out)
    return out
