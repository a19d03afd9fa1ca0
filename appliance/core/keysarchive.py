"""The offline keys tarball (``offline-creds.tgz``), parsed and built in memory.

Hostile-input rules: the archive is never extracted; only regular files and
directories are accepted; member count, member size, total size and the
compressed input are capped (which also stops gzip bombs); symlinks, hardlinks,
devices, FIFOs, sparse files, absolute paths, ``..``, unprintable names and duplicate
names are refused.

Every other regular file is accepted and kept byte for byte: fioctl reads every
member into a map and writes every member back (``GetOfflineCreds``/``saveTufCreds``,
tuf_utils.go), so real tarballs hold ``tufrepo/config.json``,
``tufrepo/credentials.zip``, garage-sign key names such as
``tufrepo/keys/offline-root-2021-01-27T23:10:29.123456.sec``, ``tufrepo/roles/...`` and
whatever else was put there.  A key pair is any ``X.pub`` with an ``X.sec`` beside it, in
any folder; a signer is found by its public key, never by its name (fioctl ``FindSigner``).
Key files that cannot be read, private halves without a public half, and pairs whose
halves disagree are kept in the tarball but never used to sign; they are listed in
``notes`` so the officer sees them.  A key kept on a hardware token has a ``.p11``
reference member (appliance/core/tokenref.py) instead of its ``.sec``.
"""

from __future__ import annotations

import gzip
import io
import tarfile
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .errors import KeyFormatError, KeyMissingError, TarballError, TokenError
from .keys import PublicKey, Signer, parse_public_key_file, public_key_file
from .metadata import Root, RootMeta
from .privatekeys import PrivateKey, parse_secret_key_file, secret_key_file
from .safetext import capped, quoted
from .tokenref import TokenRef, parse_reference

# A credentials.zip alone can be several MiB; the caps leave room for that and still stop a
# gzip bomb early (the expanded size is counted while inflating).
MAX_COMPRESSED_BYTES = 64 * 1024 * 1024
MAX_UNCOMPRESSED_BYTES = 96 * 1024 * 1024
MAX_MEMBERS = 1024
MAX_MEMBER_BYTES = 16 * 1024 * 1024

KEYS_DIR = "tufrepo/keys/"
MAX_NAME_CHARS = 4096  # Linux PATH_MAX; fioctl's and garage-sign's names are far shorter


def _check_name(raw: str) -> str:
    name = raw[2:] if raw.startswith("./") else raw
    if len(name) > MAX_NAME_CHARS:
        raise TarballError(
            f"member {quoted(raw)} in tarball has a name longer than {MAX_NAME_CHARS} characters"
            " (rule: names fit a file system path)"
        )
    if not name or name.startswith("/") or "\\" in name or "\x00" in name:
        raise TarballError(f"member {quoted(raw)} has an unsafe path")
    parts = name.rstrip("/").split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise TarballError(f"member {quoted(raw)} has an unsafe path")
    if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 or c in _INVISIBLE for c in name):
        # No real tarball has them, and they could make a name on screen read as another.
        raise TarballError(
            f"member {quoted(raw)} has control or invisible characters in its name (rule: printable names)"
        )
    return name


_INVISIBLE = frozenset("\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff")


def _gunzip(data: bytes) -> bytes:
    if len(data) > MAX_COMPRESSED_BYTES:
        raise TarballError(f"tarball is {len(data)} bytes, more than {MAX_COMPRESSED_BYTES} allowed")
    if data[:2] != b"\x1f\x8b":
        raise TarballError("not a gzip-compressed tarball")
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            out = stream.read(MAX_UNCOMPRESSED_BYTES + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise TarballError(f"gzip stream is damaged: {exc}") from exc
    if len(out) > MAX_UNCOMPRESSED_BYTES:
        raise TarballError(f"tarball expands to more than {MAX_UNCOMPRESSED_BYTES} bytes (gzip bomb?)")
    return out


def _read_members(tar_bytes: bytes) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    total = 0
    try:
        archive = tarfile.open(fileobj=io.BytesIO(tar_bytes), mode="r:")
    except tarfile.TarError as exc:
        raise TarballError(f"not a tar archive: {exc}") from exc
    with archive:
        count = 0
        while True:
            try:
                member = archive.next()
            except (tarfile.TarError, ValueError, OverflowError) as exc:
                # A PAX header can set any size (negative, absurd): tarfile then fails in odd ways.
                raise TarballError(f"tar archive is damaged: {capped(str(exc))}") from exc
            if member is None:
                break
            count += 1
            if count > MAX_MEMBERS:
                raise TarballError(f"tarball has more than {MAX_MEMBERS} members")
            if member.isdir() and member.name in (".", "./"):
                continue  # the archive root, written by `tar -C dir -czf x.tgz .`
            name = _check_name(member.name)
            if member.isdir():
                continue  # fioctl skips directory entries (TypeDir) and so do we
            if member.issym() or member.islnk():
                raise TarballError(f"member {quoted(member.name)} is a link; links are refused")
            if not member.isreg() or member.issparse():
                raise TarballError(f"member {quoted(member.name)} is not a regular file")
            if name.endswith("/"):
                raise TarballError(f"member {quoted(member.name)} is a file named like a directory")
            if name in files:
                raise TarballError(f"member {quoted(name)} appears twice")
            if member.size < 0:
                raise TarballError(f"member {quoted(name)} declares a negative size ({member.size})")
            if member.size > MAX_MEMBER_BYTES:
                raise TarballError(f"member {quoted(name)} is {member.size} bytes, more than {MAX_MEMBER_BYTES}")
            total += member.size
            if total > MAX_UNCOMPRESSED_BYTES:
                raise TarballError("tarball members exceed the size cap")
            stream = archive.extractfile(member)
            if stream is None:
                raise TarballError(f"member {quoted(name)} cannot be read")
            try:
                content = stream.read(member.size + 1)
            except (tarfile.TarError, OSError, ValueError) as exc:
                raise TarballError(f"member {quoted(name)} is truncated: {capped(str(exc))}") from exc
            if len(content) != member.size:
                raise TarballError(f"member {quoted(name)} is truncated")
            files[name] = content
        end = archive.offset
    # tarfile stops quietly at a damaged or missing header; insist on a proper end so a
    # truncated archive or a second archive appended to the first cannot drop members.
    tail = tar_bytes[end:]
    if tail.strip(b"\x00"):
        raise TarballError("tar archive has unreadable data after its last member (damaged or several archives joined)")
    if len(tail) < 2 * tarfile.BLOCKSIZE:
        raise TarballError("tar archive is truncated (no end-of-archive marker)")
    return files


def plain_tarball(files: Mapping[str, bytes], *, mode: int) -> bytes:
    """A gzip tar of ``files`` in order, each a regular file of ``mode`` (other archives, e.g. roots)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:", format=tarfile.USTAR_FORMAT) as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mode = mode
            archive.addfile(info, io.BytesIO(content))
    return gzip.compress(raw.getvalue(), mtime=0)


def read_members(data: bytes) -> dict[str, bytes]:
    """The regular files of any gzip tarball, under the same hostile-input rules and caps."""
    return _read_members(_gunzip(data))


@dataclass(frozen=True)
class KeyEntry:
    """A key pair (or lone public key) found in the tarball."""

    base: str  # member name without .pub/.sec/.p11
    public: PublicKey
    private: PrivateKey | None
    token: TokenRef | None = None  # the private half is on hardware token(s)
    bound: Signer | None = field(default=None, compare=False, repr=False)  # unlocked token session

    @property
    def keyid(self) -> str:
        """The key's id under today's rule (sha256 of the DER public key)."""
        return self.public.keyid

    @property
    def signer(self) -> Signer | None:
        """What signs as this key now: the file key, or the unlocked token key."""
        return self.private if self.private is not None else self.bound


@dataclass(frozen=True)
class KeysArchive:
    files: Mapping[str, bytes]
    entries: tuple[KeyEntry, ...]
    # Token keys unlocked for this run, by member base; never written to the tarball.
    bindings: Mapping[str, Signer] = field(default_factory=dict, compare=False, repr=False)
    notes: tuple[str, ...] = field(default=())  # key files kept but not used, and why

    @classmethod
    def from_files(cls, files: Mapping[str, bytes], bindings: Mapping[str, Signer] | None = None) -> KeysArchive:
        bindings = dict(bindings or {})
        entries: list[KeyEntry] = []
        notes: list[str] = []
        for name in files:
            if name.endswith(".sec") and name[: -len(".sec")] + ".pub" not in files:
                notes.append(f"{name}: private key without a .pub beside it; not used")
            if name.startswith(KEYS_DIR) and name.endswith(".p11"):  # our own token references: strict
                base = name[: -len(".p11")]
                if base + ".pub" not in files:
                    raise TarballError(f"{name} has no matching {base}.pub")
                if base + ".sec" in files:
                    raise TarballError(f"{base} has both a .sec and a .p11 member; keep exactly one private half")
        for name, content in files.items():
            if not name.endswith(".pub"):
                continue
            base = name[: -len(".pub")]
            try:
                public = parse_public_key_file(content, what=name)
            except KeyFormatError as exc:
                if name.startswith(KEYS_DIR):
                    notes.append(f"{name}: not a readable TUF public key ({exc.message}); not used")
                continue
            private = None
            if base + ".sec" in files:
                try:
                    private = parse_secret_key_file(files[base + ".sec"], what=base + ".sec")
                except KeyFormatError as exc:
                    # Only our own message: the cause may quote secret key bytes.
                    notes.append(f"{base}.sec: {exc.message}; not used")
                if private is not None and not private.public_key.same_key(public):
                    notes.append(f"{base}.sec does not hold the private half of {base}.pub; not used")
                    private = None
            token = None
            if base + ".p11" in files:
                try:
                    token = parse_reference(files[base + ".p11"], what=base + ".p11")
                except KeyFormatError as exc:
                    raise TarballError(exc.message, hint=KeyFormatError.hint) from None
                if token.keyid != public.keyid or token.keytype != public.kind:
                    raise TarballError(f"{base}.p11 names key {token.keyid[:16]} ({token.keytype}), not {base}.pub")
            bound = bindings.get(base) if token is not None else None
            if bound is not None and not bound.public_key.same_key(public):
                raise TarballError(f"the token key unlocked for {base} is not the key of {base}.pub")
            entries.append(KeyEntry(base, public, private, token, bound))
        return cls(dict(files), tuple(entries), bindings, tuple(notes))

    @classmethod
    def from_bytes(cls, data: bytes) -> KeysArchive:
        return cls.from_files(read_members(data))

    def signers_for(self, meta: RootMeta, role: str) -> list[tuple[str, Signer, str]]:
        """Signers for ``role``'s key ids: (keyid, signer, member base).  A file key signs
        itself; a token key signs once the shell has unlocked it (``with_bindings``), and
        asking for one that is still locked is an error rather than a silent omission."""
        found: list[tuple[str, Signer, str]] = []
        if role not in meta.roles:
            raise KeyMissingError(f"the root has no {role} role")
        wanted = meta.role_keys(role)
        seen: set[bytes] = set()  # one public key signs once, whatever ids list it
        for keyid, public in wanted.items():
            if public.spki_der in seen:
                continue
            for entry in self.entries:
                if not entry.public.same_key(public):
                    continue
                if entry.signer is not None:
                    seen.add(public.spki_der)
                    found.append((keyid, entry.signer, entry.base))
                    break
                if entry.token is not None:
                    raise TokenError(
                        f"{role} key {keyid[:16]} is on {', '.join(entry.token.describe())}, which is not unlocked",
                        hint="The command asks for the token PIN before signing; run it at the terminal.",
                    )
        return found

    def token_entries_for(self, meta: RootMeta, roles: Iterable[str]) -> list[tuple[str, KeyEntry]]:
        """(role, entry) for every key of ``roles`` whose private half is only on a token, still locked."""
        out: list[tuple[str, KeyEntry]] = []
        for role in roles:
            if role not in meta.roles:
                continue
            for public in meta.role_keys(role).values():
                for entry in self.entries:
                    locked = entry.token is not None and entry.private is None and entry.bound is None
                    if locked and entry.public.same_key(public):
                        if all(e is not entry for _, e in out):
                            out.append((role, entry))
                        break
        return out

    def with_bindings(self, bindings: Mapping[str, Signer]) -> KeysArchive:
        """The same archive with unlocked token keys attached (in memory only)."""
        return KeysArchive.from_files(self.files, {**self.bindings, **bindings})

    def require_signers(self, meta: RootMeta, role: str) -> list[tuple[str, Signer, str]]:
        found = self.signers_for(meta, role)
        threshold = meta.roles[role].threshold
        if len(found) < threshold:
            ids = ", ".join(k[:16] for k in meta.roles[role].keyids)
            unused = f" (unused key files: {'; '.join(self.notes)})" if self.notes else ""
            raise KeyMissingError(
                f"the tarball holds {len(found)} of the {threshold} {role} private key(s) needed (role keys: {ids})"
                + unused
            )
        return found

    def has_private_for(self, public: PublicKey) -> bool:
        """True when the tarball holds the private half or a token reference for ``public``."""
        return any((e.private is not None or e.token is not None) and e.public.same_key(public) for e in self.entries)

    def with_key(self, role: str, key: PrivateKey) -> KeysArchive:
        """Add ``tufrepo/keys/fioctl-<role>-<keyid>.pub|.sec`` as fioctl names them."""
        base = f"{KEYS_DIR}fioctl-{role}-{key.keyid}"
        if base + ".sec" in self.files:
            raise TarballError(f"{base}.sec already exists in the tarball")
        files = dict(self.files)
        files[base + ".pub"] = public_key_file(key.public_key)
        files[base + ".sec"] = secret_key_file(key)
        return KeysArchive.from_files(files, self.bindings)

    def with_file(self, name: str, content: bytes, *, replace: bool = False) -> KeysArchive:
        """Add a member; an existing one changes only when ``replace`` says so (fioctl keeps members)."""
        if _check_name(name) != name or name.endswith("/"):
            raise TarballError(f"refusing to add file with unsafe name {quoted(name)}")
        if name in self.files and self.files[name] != content and not replace:
            raise TarballError(f"refusing to change existing member {quoted(name)}; members are kept byte for byte")
        files = dict(self.files)
        files[name] = content
        return KeysArchive.from_files(files, self.bindings)

    def with_token_reference(self, base: str, ref: TokenRef) -> KeysArchive:
        """Replace ``base``'s ``.sec`` (if any) by the ``.p11`` reference ``ref``."""
        files = {n: c for n, c in self.files.items() if n != base + ".sec"}
        if base + ".pub" not in files:
            raise TarballError(f"{base}.pub is not in the tarball")
        files[base + ".p11"] = ref.to_member()
        return KeysArchive.from_files(files, self.bindings)

    def subset(self, names: Iterable[str]) -> KeysArchive:
        return KeysArchive.from_files({n: self.files[n] for n in names}, self.bindings)

    def private_members(self) -> list[str]:
        """Members that point at private keys: ``.sec`` files and ``.p11`` token references."""
        return [n for n in self.files if n.endswith((".sec", ".p11"))]

    def to_bytes(self, *, mtime: int) -> bytes:
        """A deterministic tar.gz: members in stored order with their bytes unchanged, mode 0600,
        owner root, fixed mtime."""
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w:", format=tarfile.PAX_FORMAT) as archive:
            for name, content in self.files.items():
                info = tarfile.TarInfo(name)
                info.size = len(content)
                info.mode = 0o600
                info.mtime = mtime
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                archive.addfile(info, io.BytesIO(content))
        return gzip.compress(raw.getvalue(), mtime=0)


ROOT_COPY = "tufrepo/roles/root.json"  # the copy of the current root fioctl keeps in the tarball


def root_in_archive(archive: KeysArchive) -> Root | None:
    """The tarball's own copy of root.json, when it has one."""
    if ROOT_COPY not in archive.files:
        return None
    return Root.from_bytes(archive.files[ROOT_COPY], what=f"{ROOT_COPY} in the tarball")
