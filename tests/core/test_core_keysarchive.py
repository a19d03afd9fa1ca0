"""The offline keys tarball: hostile archives refused in memory, deterministic writing, key lookup."""

from __future__ import annotations

import gzip
import io
import tarfile
import time
import tracemalloc
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.core.errors import KeyMissingError, TarballError
from appliance.core.keys import public_key_file
from appliance.core.keysarchive import MAX_COMPRESSED_BYTES, MAX_MEMBER_BYTES, MAX_UNCOMPRESSED_BYTES, KeysArchive
from appliance.core.metadata import RootMeta
from appliance.core.privatekeys import secret_key_file
from tests.helpers_core import Member, ed_key, key_members, root_signed, tar_bytes, tgz

ROOT, OLD_ROOT, TARGETS, ONLINE = ed_key(1), ed_key(2), ed_key(3), ed_key(4)
PUB = public_key_file(ROOT.public_key)
SEC = secret_key_file(ROOT)
OK_PUB = ("tufrepo/keys/first-root.pub", PUB)


def refused(data: bytes) -> str:
    with pytest.raises(TarballError) as info:
        KeysArchive.from_bytes(data)
    return info.value.message


# --- hostile members -------------------------------------------------------------------

HOSTILE: list[tuple[str, list[Member | tuple[str, bytes]], str]] = [
    ("tar slip", [OK_PUB, ("../x", b"x")], "member '../x' has an unsafe path"),
    ("tar slip inside", [("tufrepo/../../x", b"x")], "member 'tufrepo/../../x' has an unsafe path"),
    ("tar slip after ./", [("./../x", b"x")], "member './../x' has an unsafe path"),
    ("dot segment", [("tufrepo/./keys/a.pub", PUB)], "has an unsafe path"),
    ("absolute path", [("/tufrepo/keys/a.pub", PUB)], "member '/tufrepo/keys/a.pub' has an unsafe path"),
    ("absolute /etc", [("/etc/passwd", b"x")], "has an unsafe path"),
    ("double slash", [("tufrepo//keys/a.pub", PUB)], "has an unsafe path"),
    ("backslash", [("tufrepo\\keys\\a.pub", PUB)], "has an unsafe path"),
    ("pax path override", [Member("tufrepo/keys/a.pub", PUB, pax={"path": "../evil.pub"})], "'../evil.pub'"),
    (
        "symlink",
        [Member("tufrepo/keys/a.pub", type=tarfile.SYMTYPE, linkname="/etc/shadow")],
        "member 'tufrepo/keys/a.pub' is a link; links are refused",
    ),
    (
        "hardlink",
        [OK_PUB, Member("tufrepo/keys/b.pub", type=tarfile.LNKTYPE, linkname="tufrepo/keys/first-root.pub")],
        "member 'tufrepo/keys/b.pub' is a link; links are refused",
    ),
    (
        "symlinked directory",
        [Member("tufrepo/keys", type=tarfile.SYMTYPE, linkname="/tmp")],
        "member 'tufrepo/keys' is a link",
    ),
    (
        "character device",
        [Member("tufrepo/keys/a.pub", type=tarfile.CHRTYPE)],
        "'tufrepo/keys/a.pub' is not a regular file",
    ),
    ("block device", [Member("tufrepo/config.json", type=tarfile.BLKTYPE)], "is not a regular file"),
    ("FIFO", [Member("tufrepo/keys/a.sec", type=tarfile.FIFOTYPE)], "'tufrepo/keys/a.sec' is not a regular file"),
    ("duplicate member", [OK_PUB, OK_PUB], "member 'tufrepo/keys/first-root.pub' appears twice"),
    ("duplicate via ./", [OK_PUB, ("./" + OK_PUB[0], PUB)], "appears twice"),
    (
        "too many members",
        [(f"tufrepo/roles/r{i}.json", b"{}") for i in range(1025)],
        "tarball has more than 1024 members",
    ),
    (
        "too many directory entries",
        [Member("tufrepo", type=tarfile.DIRTYPE)] * 1025,
        "more than 1024 members",
    ),
    ("newline in name", [("tufrepo/keys/a.pub\n", PUB)], "rule: printable names"),
    ("escape in name", [("tufrepo/\x1b[31mkeys", b"x")], "rule: printable names"),
    ("bidi override in name", [("tufrepo/keys/\u202ea.pub", PUB)], "rule: printable names"),
    (
        "member over the cap",
        [("tufrepo/roles/big.json", b" " * (MAX_MEMBER_BYTES + 1))],
        f"member 'tufrepo/roles/big.json' is {MAX_MEMBER_BYTES + 1} bytes, more than {MAX_MEMBER_BYTES}",
    ),
]


@pytest.mark.parametrize(("members", "fragment"), [c[1:] for c in HOSTILE], ids=[c[0] for c in HOSTILE])
def test_hostile_archives_are_refused(members: list[Member | tuple[str, bytes]], fragment: str) -> None:
    assert fragment in refused(tgz(members))


def test_sparse_member_is_refused() -> None:
    data = tgz([Member("tufrepo/keys/a.pub", type=tarfile.GNUTYPE_SPARSE)], fmt=tarfile.GNU_FORMAT)
    assert "is not a regular file" in refused(data)


# Key files fioctl would not use (or would use to make signatures devices reject) are kept
# byte for byte but never sign; each is named in ``notes`` for the review.
UNUSABLE: list[tuple[str, list[Member | tuple[str, bytes]], str]] = [
    ("sec without pub", [("tufrepo/keys/a.sec", SEC)], "tufrepo/keys/a.sec: private key without a .pub"),
    (
        "sec not matching pub",
        [("tufrepo/keys/a.pub", PUB), ("tufrepo/keys/a.sec", secret_key_file(OLD_ROOT))],
        "tufrepo/keys/a.sec does not hold the private half of tufrepo/keys/a.pub",
    ),
    ("malformed pub JSON", [("tufrepo/keys/a.pub", b'{"keytype":')], "tufrepo/keys/a.pub is not valid JSON"),
    ("pub duplicate keys", [("tufrepo/keys/a.pub", b'{"keytype":"RSA","keytype":"ED25519"}')], "duplicate key"),
    ("pub bad keytype", [("tufrepo/keys/a.pub", PUB.replace(b"ED25519", b"ECDSA"))], "unsupported keytype"),
    (
        "malformed sec JSON",
        [("tufrepo/keys/a.pub", PUB), ("tufrepo/keys/a.sec", b"not json")],
        "tufrepo/keys/a.sec is not valid JSON",
    ),
    ("sec bad hex", [("tufrepo/keys/a.pub", PUB), ("tufrepo/keys/a.sec", SEC.replace(b'"}}', b'0"}}'))], "hex digits"),
]


@pytest.mark.parametrize(("members", "fragment"), [c[1:] for c in UNUSABLE], ids=[c[0] for c in UNUSABLE])
def test_unusable_key_files_are_kept_but_never_sign(members: list[Member | tuple[str, bytes]], fragment: str) -> None:
    archive = KeysArchive.from_bytes(tgz(members))
    assert any(fragment in note for note in archive.notes), archive.notes
    assert all(e.private is None for e in archive.entries)
    assert KeysArchive.from_bytes(archive.to_bytes(mtime=0)).files == archive.files
    meta = RootMeta.from_dict(root_signed([ROOT]))
    with pytest.raises(KeyMissingError, match="unused key files"):
        archive.require_signers(meta, "root")


# --- hostile containers ---------------------------------------------------------------------


def _bomb(expanded: int) -> bytes:
    """A single gzip stream: a tar header for one member, then ``expanded`` zero bytes."""
    info = tarfile.TarInfo("tufrepo/roles/bomb.json")
    info.size = expanded
    comp = zlib.compressobj(1, zlib.DEFLATED, 31)
    parts = [comp.compress(info.tobuf(tarfile.GNU_FORMAT))]
    chunk = bytes(1 << 20)
    parts += [comp.compress(chunk) for _ in range(expanded >> 20)]
    parts.append(comp.flush())
    return b"".join(parts)


def test_gzip_bomb_is_refused_quickly_without_expanding_it() -> None:
    expanded = 256 << 20
    bomb = _bomb(expanded)
    assert len(bomb) < 2 << 20
    tracemalloc.start()
    started = time.monotonic()
    try:
        message = refused(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert f"expands to more than {MAX_UNCOMPRESSED_BYTES} bytes" in message
    assert time.monotonic() - started < 5
    assert peak < expanded // 2


def test_multi_member_gzip_bomb_is_refused() -> None:
    one = gzip.compress(bytes(16 << 20), mtime=0)
    assert "expands to more than" in refused(gzip.compress(tar_bytes([OK_PUB]), mtime=0) + one * 7)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "not a gzip-compressed tarball"),
        (b"hello, this is a text file\n", "not a gzip-compressed tarball"),
        (b"PK\x03\x04zip", "not a gzip-compressed tarball"),
        (tar_bytes([OK_PUB]), "not a gzip-compressed tarball"),
        (b"\x1f\x8b", "gzip stream is damaged"),
        (tgz([OK_PUB])[:20], "gzip stream is damaged"),
        (tgz([OK_PUB])[:-9], "gzip stream is damaged"),
        (tgz([OK_PUB])[:-8] + b"\0\0\0\0" + tgz([OK_PUB])[-4:], "gzip stream is damaged"),  # CRC
        (tgz([OK_PUB]) + b"trailing", "gzip stream is damaged"),
        (gzip.compress(b"", mtime=0), "not a tar archive"),
        (gzip.compress(b"x" * 1024, mtime=0), "not a tar archive"),
    ],
    ids=[
        "empty",
        "text",
        "zip",
        "plain-tar",
        "magic-only",
        "truncated-gzip-early",
        "truncated-gzip-late",
        "bad-crc",
        "trailing-garbage",
        "gzip-of-nothing",
        "gzip-of-text",
    ],
)
def test_not_a_keys_tarball(data: bytes, fragment: str) -> None:
    assert fragment in refused(data)


def test_empty_tar_is_an_empty_archive() -> None:
    """Only end-of-archive blocks: valid, holds nothing; commands then find no keys."""
    archive = KeysArchive.from_bytes(gzip.compress(b"\0" * 10240, mtime=0))
    assert archive.files == {} and archive.entries == ()


def test_oversize_compressed_input_is_refused_before_decompression() -> None:
    data = b"\x1f\x8b" + bytes(MAX_COMPRESSED_BYTES - 1)
    assert f"more than {MAX_COMPRESSED_BYTES} allowed" in refused(data)


TWO = tar_bytes([OK_PUB, ("tufrepo/keys/first-root.sec", SEC)])
_FIRST_END = 1024  # header block + one data block (no PAX header is needed for these names)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (TWO[: 512 + 100], "is truncated"),  # inside the first member's data
        (TWO[:_FIRST_END], "truncated (no end-of-archive marker)"),  # at a member boundary
        (TWO[: _FIRST_END + 100], "unreadable data after its last member"),  # inside the second header
        (TWO[: _FIRST_END + 512 + 10], "is truncated"),  # inside the second member's data
        (TWO[: _FIRST_END + 1024 + 512], "truncated (no end-of-archive marker)"),  # half an end marker
        (TWO[:_FIRST_END] + b"\x01" * 512 + TWO[_FIRST_END:], "unreadable data after its last member"),
        (tar_bytes([OK_PUB]) + tar_bytes([("auth.json", b"{}")]), "unreadable data after its last member"),
    ],
    ids=["in-data", "at-boundary", "in-header", "in-second-data", "half-end-marker", "garbage-header", "concatenated"],
)
def test_damaged_tar_inside_gzip(data: bytes, fragment: str) -> None:
    assert TWO[_FIRST_END : _FIRST_END + 100].startswith(b"tufrepo/keys/first-root.sec")
    assert fragment in refused(gzip.compress(data, mtime=0))


@given(st.integers(min_value=0, max_value=len(TWO) - 1), st.integers(min_value=0, max_value=255))
@settings(max_examples=300, deadline=None)
def test_corrupted_tar_only_raises_tarball_error(offset: int, value: int) -> None:
    data = bytearray(TWO)
    data[offset] = value
    try:
        archive = KeysArchive.from_bytes(gzip.compress(bytes(data), mtime=0))
    except TarballError:
        return
    # if a flipped byte was harmless, the archive must still be the same keys
    assert all(name.startswith("tufrepo/keys/first-root.") for name in archive.files)


@given(st.binary(max_size=2048))
@settings(max_examples=200, deadline=None)
def test_random_gzip_payload_only_raises_tarball_error(payload: bytes) -> None:
    try:
        KeysArchive.from_bytes(gzip.compress(payload, mtime=0))
    except TarballError:
        pass


# --- accepted layouts ---------------------------------------------------------------------


def fioctl_members() -> list[Member | tuple[str, bytes]]:
    return [
        Member("tufrepo", type=tarfile.DIRTYPE),
        Member("tufrepo/keys", type=tarfile.DIRTYPE),
        *key_members({"first-root": ROOT}),
        *key_members({"targets": TARGETS}, private=False),
        Member("tufrepo/roles", type=tarfile.DIRTYPE),
        Member("tufrepo/roles/unsigned", type=tarfile.DIRTYPE),
        ("tufrepo/roles/root.json", b"{}"),
        ("tufrepo/roles/unsigned/targets.json", b"{}"),
        ("tufrepo/config.json", b"{}"),
        ("treehub.json", b"{}"),
        ("tufrepo.url", b"https://example.invalid"),
        ("auth.json", b"{}"),
        ("root.json", b"{}"),
        ("targets.pub", b"x"),
        ("targets.sec", b"x"),
        ("server.pem", b"x"),
        ("api_gateway.url", b"x"),
    ]


EXPECTED_FILES = [
    "tufrepo/keys/first-root.pub",
    "tufrepo/keys/first-root.sec",
    "tufrepo/keys/targets.pub",
    "tufrepo/roles/root.json",
    "tufrepo/roles/unsigned/targets.json",
    "tufrepo/config.json",
    "treehub.json",
    "tufrepo.url",
    "auth.json",
    "root.json",
    "targets.pub",
    "targets.sec",
    "server.pem",
    "api_gateway.url",
]


@pytest.mark.parametrize(
    "fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT, tarfile.USTAR_FORMAT], ids=["pax", "gnu", "ustar"]
)
def test_fioctl_layout_is_accepted(fmt: int) -> None:
    archive = KeysArchive.from_bytes(tgz(fioctl_members(), fmt=fmt))
    assert list(archive.files) == EXPECTED_FILES
    assert [(e.base, e.keyid, e.private is not None) for e in archive.entries] == [
        ("tufrepo/keys/first-root", ROOT.keyid, True),
        ("tufrepo/keys/targets", TARGETS.keyid, False),
    ]
    assert archive.private_members() == ["tufrepo/keys/first-root.sec", "targets.sec"]
    assert archive.has_private_for(ROOT.public_key) and not archive.has_private_for(TARGETS.public_key)


def test_leading_dot_slash_and_root_directory_entry_are_tolerated() -> None:
    members = [Member("./", type=tarfile.DIRTYPE), Member("./tufrepo/", type=tarfile.DIRTYPE)]
    members += [("./" + name, data) for name, data in key_members({"first-root": ROOT})]
    archive = KeysArchive.from_bytes(tgz(members))
    assert list(archive.files) == ["tufrepo/keys/first-root.pub", "tufrepo/keys/first-root.sec"]


def test_archive_written_by_tar_command_line_shape(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The shape `tar -C dir -czf creds.tgz .` produces: ./, ./tufrepo/, ./tufrepo/keys/, files."""
    keys_dir = tmp_path / "creds" / "tufrepo" / "keys"
    keys_dir.mkdir(parents=True)
    for name, data in key_members({"first-root": ROOT}):
        (tmp_path / "creds" / name).write_bytes(data)
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        archive.add(tmp_path / "creds", arcname=".")
    loaded = KeysArchive.from_bytes(out.getvalue())
    assert sorted(loaded.files) == ["tufrepo/keys/first-root.pub", "tufrepo/keys/first-root.sec"]


def test_round_trip_is_deterministic_and_lossless() -> None:
    archive = KeysArchive.from_bytes(tgz(fioctl_members()))
    first = archive.to_bytes(mtime=1_700_000_000)
    again = KeysArchive.from_bytes(first)
    assert dict(again.files) == dict(archive.files)
    assert list(again.files) == list(archive.files)
    assert again.to_bytes(mtime=1_700_000_000) == first
    assert archive.to_bytes(mtime=1_700_000_000) == first
    assert archive.to_bytes(mtime=1_700_000_001) != first
    with tarfile.open(fileobj=io.BytesIO(first), mode="r:gz") as raw:
        for info in raw.getmembers():
            assert (info.mode, info.uid, info.gid, info.uname, info.gname) == (0o600, 0, 0, "", "")
            assert info.mtime == 1_700_000_000 and info.isreg()
    assert gzip.decompress(first)  # standard gzip
    assert first[4:8] == b"\0\0\0\0"  # gzip header mtime zeroed


def test_with_key_adds_fioctl_named_pair_and_refuses_a_duplicate() -> None:
    archive = KeysArchive.from_bytes(tgz(fioctl_members()))
    new_key = ed_key(7)
    grown = archive.with_key("root", new_key)
    base = f"tufrepo/keys/fioctl-root-{new_key.keyid}"
    assert list(grown.files)[: len(archive.files)] == list(archive.files)
    assert list(grown.files)[len(archive.files) :] == [base + ".pub", base + ".sec"]
    assert grown.files[base + ".pub"] == public_key_file(new_key.public_key)
    assert grown.files[base + ".sec"] == secret_key_file(new_key)
    assert grown.has_private_for(new_key.public_key)
    assert KeysArchive.from_bytes(grown.to_bytes(mtime=0)).files == grown.files
    with pytest.raises(TarballError, match=f"{base}.sec already exists"):
        grown.with_key("root", new_key)
    assert archive.with_key("targets", new_key).files.keys() >= {f"tufrepo/keys/fioctl-targets-{new_key.keyid}.sec"}


def test_with_file_and_subset() -> None:
    archive = KeysArchive.from_bytes(tgz(fioctl_members()))
    with pytest.raises(TarballError, match="refusing to change existing member 'tufrepo/roles/root.json'"):
        archive.with_file("tufrepo/roles/root.json", b"new")
    changed = archive.with_file("tufrepo/roles/root.json", b"new", replace=True)
    assert changed.files["tufrepo/roles/root.json"] == b"new"
    assert archive.with_file("tufrepo/anything/else.bin", b"x").files["tufrepo/anything/else.bin"] == b"x"
    with pytest.raises(TarballError, match="member '../x' has an unsafe path"):
        archive.with_file("../x", b"")
    only = archive.subset(["tufrepo/keys/first-root.pub", "tufrepo/keys/first-root.sec"])
    assert [e.base for e in only.entries] == ["tufrepo/keys/first-root"]


# --- active keys --------------------------------------------------------------------------


def test_signers_for_finds_the_active_key_by_public_key() -> None:
    new_root = ed_key(8)
    meta = RootMeta.from_dict(root_signed([new_root], [TARGETS], online=ONLINE, version=2, also_keys=[ROOT]))
    archive = KeysArchive.from_bytes(
        tgz([*key_members({"first-root": ROOT}), *key_members({"zz": TARGETS}, private=False)])
    ).with_key("root", new_root)
    found = archive.signers_for(meta, "root")
    assert [(keyid, key.keyid, base) for keyid, key, base in found] == [
        (new_root.keyid, new_root.keyid, f"tufrepo/keys/fioctl-root-{new_root.keyid}")
    ]
    assert archive.require_signers(meta, "root") == found
    assert archive.signers_for(meta, "targets") == []  # public half only
    with pytest.raises(KeyMissingError) as info:
        archive.require_signers(meta, "targets")
    assert info.value.message == (
        f"the tarball holds 0 of the 1 targets private key(s) needed (role keys: {TARGETS.keyid[:16]})"
    )
    assert info.value.exit_code == 5


def test_require_signers_counts_against_the_threshold() -> None:
    a, b, c = ed_key(21), ed_key(22), ed_key(23)
    meta = RootMeta.from_dict(root_signed([a, b, c], root_threshold=2))
    one = KeysArchive.from_bytes(tgz(key_members({"a": a, "b": b}) + key_members({"c": c}, private=False)))
    assert [k for k, _, _ in one.require_signers(meta, "root")] == [a.keyid, b.keyid]
    short = KeysArchive.from_bytes(tgz(key_members({"a": a}) + key_members({"b": b, "c": c}, private=False)))
    with pytest.raises(KeyMissingError, match="holds 1 of the 2 root private key\\(s\\) needed"):
        short.require_signers(meta, "root")
    # a key file named after a role does not make it that role's key
    wrong = KeysArchive.from_bytes(tgz(key_members({f"fioctl-root-{a.keyid}": ed_key(24)})))
    assert wrong.signers_for(meta, "root") == []


def test_member_name_with_trailing_newline_is_refused() -> None:
    import io
    import tarfile as _tarfile

    raw = io.BytesIO()
    with _tarfile.open(fileobj=raw, mode="w:") as archive:
        info = _tarfile.TarInfo("tufrepo/keys/first-root.pub\n")
        info.size = 2
        archive.addfile(info, io.BytesIO(b"{}"))
    with pytest.raises(TarballError, match="rule: printable names"):
        KeysArchive.from_bytes(gzip.compress(raw.getvalue()))
