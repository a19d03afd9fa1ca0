"""The offline keys tarball (``offline-creds.tgz``), parsed and built in memory.

Hostile-input rules: the archive is never extracted; only regular files and
directories are accepted; member count, member size, total size and the
compressed input are capped (which also stops gzip bombs); symlinks, hardlinks,
devices, FIFOs, sparse files, absolute paths, ``..`` and duplicate names are refused.

Every other regular file is accepted and kept byte for byte: fioctl reads every
member into a map and writes every member back (``GetOfflineCreds``/``saveTufCreds``,
tuf_utils.go), so real tarballs hold ``tufrepo/config.json``,
``tufrepo/credentials.zip``, garage-sign key names such as
``tufrepo/keys/offline-root-2021-01-27T23:10:29.123456.sec``, ``tufrepo/roles/...`` and
whatever else was put there.  A key pair is any ``X.pub`` with an ``X.sec`` beside it, in
any folder; a signer is found by its public key, never by its name (fioctl ``FindSigner``).
Key files that cannot be read, private halves without a public half, and pairs whose
halves disagree are kept in the tarball but never used to sign; they are listed in
``notes`` so the officer sees them.
"""

from __future__ import annotations

import gzip
import io
import tarfile
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .errors import KeyFormatError, KeyMissingError, TarballError
from .keys import PrivateKey, PublicKey, parse_public_key_file, parse_secret_key_file, public_key_file, secret_key_file
from .metadata import RootMeta

# A credentials.zip alone can be several MiB; the caps leave room for that and still stop a
# gzip bomb early (the expanded size is counted while inflating).
MAX_COMPRESSED_BYTES = 64 * 1024 * 1024
MAX_UNCOMPRESSED_BYTES = 96 * 1024 * 1024
MAX_MEMBERS = 1024
MAX_MEMBER_BYTES = 16 * 1024 * 1024

KEYS_DIR = "tufrepo/keys/"


def _check_name(raw: str) -> str:
    name = raw[2:] if raw.startswith("./") else raw
    if not name or name.startswith("/") or "\\" in name or "\x00" in name:
        raise TarballError(f"member {raw!r} has an unsafe path")
    parts = name.rstrip("/").split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise TarballError(f"member {raw!r} has an unsafe path")
    if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 or c in _INVISIBLE for c in name):
        # No real tarball has them, and they could make a name on screen read as another.
        raise TarballError(f"member {raw!r} has control or invisible characters in its name (rule: printable names)")
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
        raise TarballError(f"gzip stream is damaged: {exc}") from None
    if len(out) > MAX_UNCOMPRESSED_BYTES:
        raise TarballError(f"tarball expands to more than {MAX_UNCOMPRESSED_BYTES} bytes (gzip bomb?)")
    return out


def _read_members(tar_bytes: bytes) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    total = 0
    try:
        archive = tarfile.open(fileobj=io.BytesIO(tar_bytes), mode="r:")
    except tarfile.TarError as exc:
        raise TarballError(f"not a tar archive: {exc}") from None
    with archive:
        count = 0
        while True:
            try:
                member = archive.next()
            except tarfile.TarError as exc:
                raise TarballError(f"tar archive is damaged: {exc}") from None
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
                raise TarballError(f"member {member.name!r} is a link; links are refused")
            if not member.isreg() or member.issparse():
                raise TarballError(f"member {member.name!r} is not a regular file")
            if name.endswith("/"):
                raise TarballError(f"member {member.name!r} is a file named like a directory")
            if name in files:
                raise TarballError(f"member {name!r} appears twice")
            if member.size > MAX_MEMBER_BYTES:
                raise TarballError(f"member {name!r} is {member.size} bytes, more than {MAX_MEMBER_BYTES}")
            total += member.size
            if total > MAX_UNCOMPRESSED_BYTES:
                raise TarballError("tarball members exceed the size cap")
            stream = archive.extractfile(member)
            if stream is None:
                raise TarballError(f"member {name!r} cannot be read")
            try:
                content = stream.read(member.size + 1)
            except (tarfile.TarError, OSError) as exc:
                raise TarballError(f"member {name!r} is truncated: {exc}") from None
            if len(content) != member.size:
                raise TarballError(f"member {name!r} is truncated")
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


def read_members(data: bytes) -> dict[str, bytes]:
    """The regular files of any gzip tarball, under the same hostile-input rules and caps."""
    return _read_members(_gunzip(data))


@dataclass(frozen=True)
class KeyEntry:
    """A key pair (or lone public key) found in the tarball."""

    base: str  # member name without .pub/.sec
    public: PublicKey
    private: PrivateKey | None

    @property
    def keyid(self) -> str:
        """The key's id under today's rule (sha256 of the DER public key)."""
        return self.public.keyid


@dataclass(frozen=True)
class KeysArchive:
    files: Mapping[str, bytes]
    entries: tuple[KeyEntry, ...]
    notes: tuple[str, ...] = field(default=())  # key files kept but not used, and why

    @classmethod
    def from_files(cls, files: Mapping[str, bytes]) -> KeysArchive:
        entries: list[KeyEntry] = []
        notes: list[str] = []
        for name in files:
            if name.endswith(".sec") and name[: -len(".sec")] + ".pub" not in files:
                notes.append(f"{name}: private key without a .pub beside it; not used")
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
                    notes.append(f"{base}.sec: {exc.message}; not used")
                if private is not None and not private.public_key.same_key(public):
                    notes.append(f"{base}.sec does not hold the private half of {base}.pub; not used")
                    private = None
            entries.append(KeyEntry(base, public, private))
        return cls(dict(files), tuple(entries), tuple(notes))

    @classmethod
    def from_bytes(cls, data: bytes) -> KeysArchive:
        return cls.from_files(read_members(data))

    def private_for(self, public: PublicKey) -> KeyEntry | None:
        """The pair holding ``public``'s private half (fioctl FindSigner: by public key, not name)."""
        return next((e for e in self.entries if e.private is not None and e.public.same_key(public)), None)

    def signers_for(self, meta: RootMeta, role: str) -> list[tuple[str, PrivateKey, str]]:
        """Private keys in the archive for ``role``'s key ids: (root's key id, key, member base)."""
        found = []
        if role not in meta.roles:
            raise KeyMissingError(f"the root has no {role} role")
        seen: set[bytes] = set()
        for keyid, public in meta.role_keys(role).items():
            entry = self.private_for(public)
            if entry is not None and entry.private is not None and public.spki_der not in seen:
                seen.add(public.spki_der)
                found.append((keyid, entry.private, entry.base))
        return found

    def require_signers(self, meta: RootMeta, role: str) -> list[tuple[str, PrivateKey, str]]:
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
        return any(e.private is not None and e.public.same_key(public) for e in self.entries)

    def with_key(self, role: str, key: PrivateKey) -> KeysArchive:
        """Add ``tufrepo/keys/fioctl-<role>-<keyid>.pub|.sec`` as fioctl names them."""
        base = f"{KEYS_DIR}fioctl-{role}-{key.keyid}"
        if base + ".sec" in self.files:
            raise TarballError(f"{base}.sec already exists in the tarball")
        files = dict(self.files)
        files[base + ".pub"] = public_key_file(key.public_key)
        files[base + ".sec"] = secret_key_file(key)
        return KeysArchive.from_files(files)

    def with_file(self, name: str, content: bytes, *, replace: bool = False) -> KeysArchive:
        """Add a member; an existing one changes only when ``replace`` says so (fioctl keeps members)."""
        if _check_name(name) != name or name.endswith("/"):
            raise TarballError(f"refusing to add file with unsafe name {name!r}")
        if name in self.files and self.files[name] != content and not replace:
            raise TarballError(f"refusing to change existing member {name!r}; members are kept byte for byte")
        files = dict(self.files)
        files[name] = content
        return KeysArchive.from_files(files)

    def subset(self, names: Iterable[str]) -> KeysArchive:
        return KeysArchive.from_files({n: self.files[n] for n in names})

    def private_members(self) -> list[str]:
        return [n for n in self.files if n.endswith(".sec")]

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
