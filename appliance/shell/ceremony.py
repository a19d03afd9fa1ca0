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

The rules live in the core (``core.context``, ``core.state``, ``core.review``); this
class only sequences the effects of the shell modules that own them.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Generic

from ..common.durable import crashpoint, read_capped, write_durable
from ..common.home import Home, default_home
from ..common.lock import hold_file, hold_home
from ..common.terminal import confirm_typed, page
from ..core.bundle import MAX_BUNDLE_BYTES, Request, Response, assert_no_private_material, open_response, seal
from ..core.ceremonyscript import REVIEW
from ..core.context import B, RequestContext, answer_with, bind_response, open_verified_request
from ..core.errors import AirgapError, DurabilityError, UsageError
from ..core.identity import Identity, hex_words, require_pinned
from ..core.keysarchive import MAX_COMPRESSED_BYTES, KeysArchive
from ..core.operations import AnyResult
from ..core.privatekeys import PrivateKey
from ..core.rootops import RootResult
from ..core.rootpair import RootPair
from ..core.state import ApplianceState, InProgress
from ..core.strictjson import dumps_pretty
from ..core.timefmt import format_expires, parse_expires
from ..core.updatesops import StagedResult
from . import pendingkey, transcriptlog

if TYPE_CHECKING:
    from ..common.render import LiteralConsole
    from ..core.review import ResignTable, Review
    from ..core.waveplan import WaveReview


# rich, the review and the read-back decoders are imported when a ceremony first draws or
# reads back, not when it starts: a replayed or refused request never needs them.
def console() -> LiteralConsole:
    from ..common.render import console as rich_console

    return rich_console()


def print_plain(out: LiteralConsole, line: str) -> None:
    from ..common.render import print_plain as draw

    draw(out, line)


ROOT_COPY = "tufrepo/roles/root.json"


@dataclass
class Ceremony(Generic[B]):
    home: Home
    identity: Identity
    context: RequestContext[B]
    keys_path: Path
    out_dir: Path
    state: ApplianceState
    archive: KeysArchive
    review_only: bool = False  # --review-only: print the review, change nothing, exit 0
    full_ids: bool = False  # --full-ids: whole key ids beside the short ones
    _fresh: dict[str, datetime] = field(default_factory=dict)  # new keys made by this run, not yet kept

    @classmethod
    def open(
        cls,
        home: Path | None,
        keys: Path,
        request: Path,
        out: Path,
        *,
        kind: type[B],
        review_only: bool = False,
        full_ids: bool = False,
        new_tarball_ok: bool = False,
    ) -> Ceremony[B]:
        """A missing ``keys`` file starts an empty tarball when ``new_tarball_ok`` (a new key holder's) or when
        the request carries a sealed first root key (a first-time takeover)."""
        place = Home(home or default_home("appliance"), "appliance")
        identity = place.identity()
        # Held until the command ends: no second run may write this home or this tarball meanwhile.
        hold_home(place.path, f"tuf-appliance {kind.OPERATION.value}")
        keys = _real_keys_path(keys)
        hold_file(keys, "keys tarball", f"tuf-appliance {kind.OPERATION.value}")
        station = require_pinned(place.pinned(), "station")
        if not out.is_dir():
            raise UsageError(f"output directory {out} does not exist", hint="Mount the stick and pass its directory.")
        data = read_capped(request, MAX_BUNDLE_BYTES, what="request")
        state = ApplianceState.from_wire(place.load_state())
        context = open_verified_request(data, station, state, kind, what=str(request))
        first_time = bool(getattr(context.body, "first_root_sealed", None))
        if not keys.exists() and (new_tarball_ok or first_time):
            archive = KeysArchive.from_files({})  # a new key holder's, or a first-time takeover's
        else:
            archive = KeysArchive.from_bytes(read_capped(keys, MAX_COMPRESSED_BYTES, what="keys tarball"))
        return cls(place, identity, context, keys, out, state, archive, review_only, full_ids)

    @property
    def request(self) -> Request:
        return self.context.request

    @property
    def body(self) -> B:
        return self.context.body

    @property
    def current(self) -> RootPair:
        return self.context.current

    def new_key(self, key_type: str) -> tuple[PrivateKey, datetime]:
        """The key (and ceremony time) for this request: the same one on every run until the
        response is written.  A run that stored its key in the tarball and stopped resumes with
        it; a run stopped before that (declined confirmation, Ctrl-C, --review-only) left it in
        the home (``pendingkey``); only the first run makes a fresh one."""
        from ..core.privatekeys import generate_key

        request_id = self.request.request_id
        record = self.state.resume_record(request_id)
        if record is not None:
            entry = next((e for e in self.archive.entries if e.keyid == record.new_keyid and e.private), None)
            if entry is not None and entry.private is not None:
                return entry.private, parse_expires(record.now)
        kept = pendingkey.load(self.home, request_id, key_type)
        if kept is not None:
            return kept
        key, now = generate_key(key_type, os.urandom), datetime.now(UTC).replace(microsecond=0)
        self._fresh[key.keyid] = now  # kept in the home when its review is shown (``review``)
        return key, now

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
        wave: WaveReview | None = None,
        changes_summary: Sequence[str] = (),
        roots_shown: Sequence[str] = ("CI", "production"),
        resigned: ResignTable | None = None,
    ) -> None:
        """Draw the review: the details (paged on a small terminal), then the summary, which
        stays directly above the confirmation prompt.  Every operation's review comes here."""
        from ..core.review import build_review

        review = build_review(
            self.request,
            self.context.station,
            self.current,
            new,
            title=title,
            details=[*details, *self._notes(new)],
            show_json=show_json,
            new_keys=new_keys,
            wave=wave,
            changes_summary=changes_summary,
            roots_shown=roots_shown,
            resigned=resigned,
        )
        self.show(review, new_keys)

    def show(self, review: Review, new_keys: Sequence[tuple[str, PrivateKey]] = ()) -> None:
        """Draw a review built elsewhere (``build_review`` and its variants): the details, paged
        on a small terminal, then the summary directly above the prompt.  A new key shown here
        is kept for the request, so a re-run shows the same key and words."""
        for _, key in new_keys:
            if key.keyid in self._fresh:
                pendingkey.keep(self.home, self.request.request_id, key, self._fresh.pop(key.keyid))
        from ..common.render import render_review, review_summary

        out = console()
        reserve = len(review_summary(review, full_ids=self.full_ids)) + 3

        def pager(lines: list[str]) -> None:
            page(lines, reserve=reserve, write=lambda line: print_plain(out, line))

        render_review(review, out, full_ids=self.full_ids, pager=pager)

    def _notes(self, new: RootPair | None) -> list[str]:
        """What the officer must know about the roots and the tarball beyond the diff."""
        from ..core.rootpair import unsignable_production_targets

        notes = []
        warning = unsignable_production_targets((new or self.current).prod.meta)
        if warning:
            notes.append(f"note: {warning}")
        # Member names come from the tarball: the literal console shows them as text, escapes visible.
        notes.extend(f"tarball: {note}" for note in self.archive.notes)
        return notes

    def confirm(self, assume_yes: bool) -> None:
        operation = self.request.operation
        if self.review_only:
            console().print(f"review only: nothing was changed; the ceremony is 'tuf-appliance {operation}'")
            raise SystemExit(0)
        confirm_typed(
            f"{operation} {self.request.factory}",
            question=f"Check the summary against act {REVIEW.upper()} of: tuf-appliance script {operation}",
            assume_yes=assume_yes,
            abort_hint="Run the same command again: it shows the same request, new key and words.",
        )

    def _save(self, state: ApplianceState) -> None:
        self.state = state
        self.home.save_state(state.to_wire())

    def record_in_progress(self, new_key: PrivateKey | None, now: datetime) -> None:
        """``new_key`` None: an operation that makes no key (a wave) but must not answer twice."""
        keyid = None if new_key is None else new_key.keyid
        self._save(self.state.begin(self.request.request_id, InProgress(keyid, format_expires(now))))
        crashpoint("state:in-progress")

    def store_tarball(
        self, archive: KeysArchive, new: RootPair | None, *, must_sign: dict[str, str], now: datetime
    ) -> bytes:
        """Replace the keys tarball durably; the re-read copy must hold and use every new key."""
        if new is not None:
            # The one member we rewrite: garage-sign's copy of the current root (it too updated it on
            # every root push); copy-targets reads it.  Every other member is kept byte for byte.
            archive = archive.with_file(ROOT_COPY, dumps_pretty(new.ci.to_dict()), replace=True)
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
        from . import readback

        readback.require_backup(
            keyid, self.keys_path, archive_bytes, required=required, scans=scans, typed=typed, shares=shares
        )

    def respond(self, result: AnyResult, *, archive_bytes: bytes | None, now: datetime) -> Path:
        if archive_bytes is not None and isinstance(result, RootResult | StagedResult):
            self._check_tarball_on_disk(archive_bytes, result.roots if isinstance(result, StagedResult) else result)
            digest = hashlib.sha256(archive_bytes).hexdigest()
            if isinstance(result, StagedResult):
                result = replace(result, roots=replace(result.roots, tarball_sha256=digest))
            else:
                result = replace(result, tarball_sha256=digest)
        response = answer_with(self.request, result, now)
        data = seal(response.body(), self.identity)
        assert_no_private_material(data)
        write_durable(self.response_path, data, replace=True, mode=0o644, label="response")
        self._complete(response, now)
        roots = result.roots if isinstance(result, StagedResult) else result
        if isinstance(roots, RootResult):  # any operation that adds or removes a root key
            from ..core.backupplan import stale_sheets

            for line in stale_sheets(self.current.ci, roots.ci_root, str(self.keys_path)):
                print_plain(console(), line)
        return self.response_path

    def _check_tarball_on_disk(self, archive_bytes: bytes, result: RootResult) -> None:
        """Last check before a response names new keys: the tarball on disk, now, holds each of them.

        A response naming a key the tarball lacks locks the factory out of its root once imported."""
        raw = read_capped(self.keys_path, MAX_COMPRESSED_BYTES, what="keys tarball")
        if raw != archive_bytes:
            raise DurabilityError(
                f"the keys tarball {self.keys_path} changed after this run stored it; no response was written",
                hint="Something else wrote the tarball. Check it with 'tuf-appliance keys', then re-run this command.",
            )
        on_disk = KeysArchive.from_bytes(raw)
        for key in result.new_keys:
            if not any(e.keyid == key.keyid and e.private is not None for e in on_disk.entries):
                raise DurabilityError(
                    f"the keys tarball {self.keys_path} does not hold the new key {key.keyid[:16]}; "
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
        if self.state.resume_record(self.request.request_id) is None or not self.response_path.exists():
            return False
        try:
            earlier = open_response(
                read_capped(self.response_path, MAX_BUNDLE_BYTES, what="response"), self.identity.peer
            )
            stored = bind_response(earlier, self.request).result.tarball_sha256
        except AirgapError:
            return False
        if stored is not None and stored != hashlib.sha256(self.keys_path.read_bytes()).hexdigest():
            return False
        console().print("this request was already answered by an interrupted run; finishing its record")
        self._complete(earlier, parse_expires(earlier.created))
        return True

    def _complete(self, response: Response, now: datetime) -> None:
        transcriptlog.append_ceremony(
            self.home, self.identity, self.request, self.context.station, self.current.version, response, now
        )
        self._save(self.state.complete(self.request, self.context.station.fingerprint, self.current))
        pendingkey.forget(self.home, self.request.request_id)
        out = console()
        out.print(f"response written: {self.response_path}")
        out.print("response digest and its words:")
        print_plain(out, f"  {response.digest()}")
        out.print(f"  {' '.join(hex_words(response.digest()))}")


def _real_keys_path(keys: Path) -> Path:
    """The tarball's real file: a ``--keys`` symlink stays a link, the file it names is updated."""
    real = Path(os.path.realpath(keys))
    if real != Path(os.path.abspath(keys)):
        console().print(f"keys tarball {keys} is a link to {real}; that file is the one read and updated")
    return real
