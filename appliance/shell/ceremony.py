"""The appliance side of one ceremony: open a request, review, store keys, answer.

Order of effects (each durable before the next starts):
0. the home and the keys tarball (its real file) are locked for the rest of the run;
1. the request is verified (pinned station signature, fresh: not answered, not superseded;
   root history);
2. the operator reviews and confirms;
3. an in-progress record naming the new key id is saved (no secrets) so a crash
   after step 4 can be resumed with the same key instead of minting another;
4. the updated keys tarball replaces the old one and is re-read: every new key
   must be found and must sign;
5. the tarball on disk is read once more and must be exactly what was stored, holding every
   key the response names; only then is the response written, and the request recorded.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..common.durable import crashpoint, read_capped, write_durable
from ..common.home import Home, default_home
from ..common.lock import hold_file, hold_home
from ..common.render import console, root_table, styled
from ..common.terminal import confirm_typed
from ..core.bundle import (
    MAX_BUNDLE_BYTES,
    Request,
    Response,
    answer,
    assert_no_private_material,
    check_binding,
    open_request,
    open_response,
    seal,
)
from ..core.errors import AirgapError, BackupPendingError, BundleError, DurabilityError, UsageError
from ..core.freshness import check_fresh, record_handled
from ..core.identity import Identity, PeerKey, fingerprint_words, hex_words, require_pinned
from ..core.keys import PrivateKey
from ..core.keysarchive import MAX_COMPRESSED_BYTES, KeysArchive
from ..core.metadata import Root
from ..core.rootdiff import diff_roots
from ..core.rootpair import RootPair, check_pair, parse_chain, verify_history
from ..core.safetext import MESSAGE_CAP, shown
from ..core.strictjson import dumps_pretty
from ..core.timefmt import format_expires, parse_expires
from ..core.transcript import ceremony_record, entry_digest, entry_line, seal_entry, verify_transcript

ROOT_COPY = "tufrepo/roles/root.json"


@dataclass
class Ceremony:
    home: Home
    identity: Identity
    station: PeerKey
    request: Request
    request_path: Path
    keys_path: Path
    out_dir: Path
    state: dict[str, Any]
    current: RootPair
    archive: KeysArchive

    @classmethod
    def open(cls, home: Path | None, keys: Path, request: Path, out: Path, *, operation: str) -> Ceremony:
        place = Home(home or default_home("appliance"), "appliance")
        identity = place.identity()
        # Held until the process ends: no second run may write this home or this tarball meanwhile.
        hold_home(place.path, f"tuf-appliance {operation}")
        keys = _real_keys_path(keys)
        hold_file(keys, "keys tarball", f"tuf-appliance {operation}")
        station = require_pinned(place.pinned(), "station")
        if not out.is_dir():
            raise UsageError(f"output directory {out} does not exist", hint="Mount the stick and pass its directory.")
        req = open_request(read_capped(request, MAX_BUNDLE_BYTES, what="request"), station, what=str(request))
        if req.operation != operation:
            raise BundleError(f"{request} is a {req.operation} request, not {operation}")
        state = place.load_state()
        in_progress = state.get("in_progress", {})
        if req.request_id not in in_progress:
            check_fresh(state.get("stations", {}).get(station.fingerprint, {}), req)
        known = state.get("factories", {}).get(req.factory, {})
        ci_chain = parse_chain(_list(req.payload, "ci_roots"), "CI root history")
        prod_chain = parse_chain(_list(req.payload, "prod_roots"), "production root history")
        ci = verify_history(ci_chain, _anchor(known.get("ci_root")), "CI root history")
        prod = verify_history(prod_chain, _anchor(known.get("prod_root")), "production root history")
        current = RootPair(ci, prod)
        check_pair(current)
        archive = KeysArchive.from_bytes(read_capped(keys, MAX_COMPRESSED_BYTES, what="keys tarball"))
        return cls(place, identity, station, req, request, keys, out, state, current, archive)

    def resume_record(self) -> dict[str, Any] | None:
        record = self.state.get("in_progress", {}).get(self.request.request_id)
        return record if isinstance(record, dict) else None

    def new_key(self, key_type: str) -> tuple[PrivateKey, datetime]:
        """The key (and ceremony time) for this request: a fresh one, or, when a previous run stored
        its key in the tarball and then stopped, that same key, never a second one."""
        from ..core.keys import generate_key
        from ..core.timefmt import parse_expires

        record = self.resume_record()
        if record is not None:
            entry = next((e for e in self.archive.entries if e.keyid == record.get("new_keyid") and e.private), None)
            if entry is not None and entry.private is not None:
                return entry.private, parse_expires(record.get("now"))
        return generate_key(key_type, os.urandom), datetime.now(UTC).replace(microsecond=0)

    def with_new_key(self, role: str, key: PrivateKey) -> KeysArchive:
        """The tarball plus ``tufrepo/keys/fioctl-<role>-<keyid>`` (already there when resuming)."""
        if any(e.keyid == key.keyid for e in self.archive.entries):
            return self.archive
        return self.archive.with_key(role, key)

    def review(
        self,
        new: RootPair | None,
        *,
        title: str,
        details: Sequence[str] = (),
        show_json: bool = False,
        new_keys: Sequence[tuple[str, PrivateKey]] = (),
    ) -> None:
        out = console()
        req = self.request
        out.rule(styled((title, "bold"), " for factory ", (shown(req.factory), "bold")))
        out.print(f"request {req.request_id}  created {shown(req.created)}  sequence {req.sequence}")
        out.print(
            f"signed by station {self.station.fingerprint[:16]}… ({' '.join(fingerprint_words(self.station.public))})"
        )
        out.print(root_table(self.current.ci, "current CI root"))
        if new is not None:
            for label, old_root, new_root in (
                ("CI", self.current.ci, new.ci),
                ("production", self.current.prod, new.prod),
            ):
                out.print(styled((f"changes to the {label} root", "bold")))
                for line in diff_roots(old_root.meta, new_root.meta):
                    out.print(f"  {shown(line, MESSAGE_CAP)}")
            out.print(f"new roots signed by: {', '.join(s.keyid[:16] for s in new.ci.signatures)}")
        for line in details:
            out.print(shown(line, MESSAGE_CAP))
        for role, key in new_keys:
            out.print(styled((f"new {role} key", "bold"), f": {key.keyid}"))
            out.print(f"  read aloud: {' '.join(hex_words(key.keyid))}")
        if show_json and new is not None:
            out.print_json(new.ci.to_bytes().decode())
            out.print_json(new.prod.to_bytes().decode())

    def confirm(self, assume_yes: bool) -> None:
        confirm_typed(
            f"{self.request.operation} {self.request.factory}",
            question="Check the review above against the ceremony script.",
            assume_yes=assume_yes,
        )

    def save_state(self) -> None:
        self.home.save_state(self.state)

    def record_in_progress(self, record: dict[str, Any]) -> None:
        self.state.setdefault("in_progress", {})[self.request.request_id] = record
        self.save_state()
        crashpoint("state:in-progress")

    def store_tarball(
        self, archive: KeysArchive, new: RootPair | None, *, must_sign: dict[str, str], now: datetime
    ) -> bytes:
        """Replace the keys tarball durably; the re-read copy must hold and use every new key."""
        if new is not None:
            archive = archive.with_file(ROOT_COPY, dumps_pretty(new.ci.to_dict()))
        data = archive.to_bytes(mtime=int(now.timestamp()))
        probe = b"tuf-airgap durability probe " + self.request.request_id.encode()

        def check(raw: bytes) -> None:
            reread = KeysArchive.from_bytes(raw)
            for role, keyid in must_sign.items():
                entry = next((e for e in reread.entries if e.keyid == keyid and e.private is not None), None)
                if entry is None or entry.private is None:
                    raise DurabilityError(f"re-read tarball lacks the new {role} key {keyid[:16]}")
                sig = entry.private.sign(probe)
                if not entry.public.verify(sig.method, sig.sig, probe):
                    raise DurabilityError(f"re-read {role} key {keyid[:16]} does not produce valid signatures")

        write_durable(self.keys_path, data, replace=True, verify=check, label="tarball")
        return data

    def require_backup(
        self,
        keyid: str,
        archive_bytes: bytes,
        *,
        required: bool,
        scans: Sequence[Path],
        typed: Sequence[Path],
        shares: Sequence[Path],
    ) -> None:
        """Withhold the response until the new key's paper backup reproduces it (when policy says so)."""
        if not (required or scans or typed or shares):
            return
        if not (scans or typed or shares):
            raise BackupPendingError(
                f"new key {keyid[:16]} is stored in {self.keys_path}; the response is withheld until its paper "
                "backup is read back",
                hint=f"Print it with 'tuf-appliance backup print --keys {self.keys_path} --key-id {keyid[:16]} "
                "--out sheet.pdf', then re-run this command with the same request and --backup-scan PHOTO "
                "or --backup-typed FILE; the same key is reused.",
            )
        from ..commands.backup import read_backups
        from ..core.paper import confirm_backup

        archive = KeysArchive.from_bytes(archive_bytes)
        backups = read_backups(scans, typed, shares).backups
        problems = []
        for backup in backups:
            try:
                confirm_backup(archive, keyid, backup.secret)
            except AirgapError as exc:
                problems.append(exc)
                continue
            console().print(f"backup of new key {keyid[:16]} read back and verified ({backup.source})")
            return
        if problems:
            raise problems[0]
        raise BackupPendingError(f"no backup of new key {keyid[:16]} was found in the inputs")

    def respond(self, result: dict[str, Any], *, archive_bytes: bytes | None, now: datetime) -> Path:
        if archive_bytes is not None:
            self._check_tarball_on_disk(archive_bytes, result)
            result = {**result, "tarball_sha256": hashlib.sha256(archive_bytes).hexdigest()}
        response = answer(self.request, result, now)
        data = seal(response.body(), self.identity)
        assert_no_private_material(data)
        write_durable(self.response_path, data, replace=True, mode=0o644, label="response")
        self._complete(response, now)
        return self.response_path

    def _check_tarball_on_disk(self, archive_bytes: bytes, result: dict[str, Any]) -> None:
        """Last check before a response names new keys: the tarball on disk, now, holds each of them.

        A response naming a key the tarball lacks locks the factory out of its root once imported."""
        raw = read_capped(self.keys_path, MAX_COMPRESSED_BYTES, what="keys tarball")
        if raw != archive_bytes:
            raise DurabilityError(
                f"the keys tarball {self.keys_path} changed after this run stored it; no response was written",
                hint="Something else wrote the tarball. Check it with 'tuf-appliance keys', then re-run this command.",
            )
        on_disk = KeysArchive.from_bytes(raw)
        for entry in result.get("new_keys", []):
            keyid = entry.get("keyid") if isinstance(entry, dict) else None
            if not any(e.keyid == keyid and e.private is not None for e in on_disk.entries):
                raise DurabilityError(
                    f"the keys tarball {self.keys_path} does not hold the new key {str(keyid)[:16]}; "
                    "no response was written"
                )

    @property
    def response_path(self) -> Path:
        return self.out_dir / f"response-{self.request.request_id}.json"

    def finish_answered(self) -> bool:
        """True when an interrupted earlier run already wrote a valid response for this request.

        Then only the bookkeeping after it (transcript, sequence) is done: signing again would
        give a different response (RSA signatures differ every time) for the same ceremony.
        """
        if self.resume_record() is None or not self.response_path.exists():
            return False
        try:
            earlier = open_response(
                read_capped(self.response_path, MAX_BUNDLE_BYTES, what="response"), self.identity.peer
            )
            check_binding(earlier, self.request)
        except AirgapError:
            return False
        stored = earlier.result.get("tarball_sha256")
        if stored is not None and stored != hashlib.sha256(self.keys_path.read_bytes()).hexdigest():
            return False
        console().print("this request was already answered by an interrupted run; finishing its record")
        self._complete(earlier, parse_expires(earlier.created))
        return True

    def _complete(self, response: Response, now: datetime) -> None:
        self._append_transcript(response.digest(), response.result, now)
        stations = self.state.setdefault("stations", {})
        stations[self.station.fingerprint] = record_handled(stations.get(self.station.fingerprint, {}), self.request)
        # Anchor the next ceremony on the roots verified now (the new ones may never be uploaded).
        self.state.setdefault("factories", {})[self.request.factory] = {
            "ci_root": self.current.ci.to_dict(),
            "prod_root": self.current.prod.to_dict(),
        }
        self.state.get("in_progress", {}).pop(self.request.request_id, None)
        self.save_state()
        out = console()
        out.print(f"response written: {self.response_path}")
        out.print(f"response digest: {response.digest()}")

    def _append_transcript(self, response_digest: str, result: dict[str, Any], now: datetime) -> None:
        """Extend the sealed transcript (hash chain signed by this appliance) and show its new seal."""
        path = self.home.transcript
        existing = read_capped(path, TRANSCRIPT_MAX_BYTES, what="transcript") if path.exists() else b""
        records, prev = verify_transcript(existing, self.identity.peer)
        last = records[-1] if records else {}
        if last.get("request_id") == self.request.request_id and last.get("response_digest") == response_digest:
            console().print(f"transcript already records this ceremony; seal: {prev}")
            return
        record = ceremony_record(
            time=format_expires(now),
            operation=self.request.operation,
            factory=self.request.factory,
            request_id=self.request.request_id,
            request_digest=self.request.digest(),
            response_digest=response_digest,
            station=self.station.fingerprint,
            from_version=self.current.version,
            new_keys=result.get("new_keys", []),
            tarball_sha256=result.get("tarball_sha256"),
        )
        entry = seal_entry(prev, record, self.identity)
        write_durable(path, existing + entry_line(entry), replace=True, mode=0o600, label="transcript")
        seal = entry_digest(entry)
        console().print(f"transcript seal: {seal}  ({' '.join(hex_words(seal))})")


TRANSCRIPT_MAX_BYTES = 64 * 1024 * 1024


def root_result(new: RootPair, new_keys: Sequence[tuple[str, PrivateKey]]) -> dict[str, Any]:
    return {
        "ci_root": new.ci.to_dict(),
        "prod_root": new.prod.to_dict(),
        "new_keys": [{"role": role, "keyid": key.keyid, "keytype": key.kind} for role, key in new_keys],
    }


def _real_keys_path(keys: Path) -> Path:
    """The tarball's real file: a ``--keys`` symlink stays a link, the file it names is updated."""
    real = Path(os.path.realpath(keys))
    if real != Path(os.path.abspath(keys)):
        console().print(f"keys tarball {keys} is a link to {real}; that file is the one read and updated")
    return real


def _list(payload: dict[str, Any], name: str) -> list[Any]:
    value = payload.get(name)
    if not isinstance(value, list):
        raise BundleError(f"request payload has no {name!r} list")
    return value


def _anchor(obj: object) -> Root | None:
    return None if obj is None else Root.from_dict(obj, what="trusted root in appliance state")
