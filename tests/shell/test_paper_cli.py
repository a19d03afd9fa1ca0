"""``tuf-appliance backup`` end to end: print, verify, restore, export-plain (in-process CLI)."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer

from appliance.commands import backup
from appliance.common.cliframe import report
from appliance.core.errors import AirgapError
from appliance.core.keys import PrivateKey, public_key_file, secret_key_file
from appliance.core.keysarchive import KeysArchive
from appliance.core.paper import b32encode
from tests.helpers_core import ed_key, root_signed, rsa_test_key, signed_root
from tests.helpers_screen import run_on_terminal

OLD_ROOT = ed_key(31)
ROOT = ed_key(32)
TARGETS = ed_key(33)
RSA_ROOT = rsa_test_key()


def _app() -> typer.Typer:
    app = typer.Typer(pretty_exceptions_show_locals=False, add_completion=False)

    @app.callback()
    def _root() -> None:
        """Test root."""

    backup.register(app)
    return app


APP = _app()


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture()
def cli(capsys):
    def run(*args: str | Path) -> Result:
        capsys.readouterr()
        try:
            APP(args=["backup", *(str(a) for a in args)], prog_name="tuf-appliance", standalone_mode=True)
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        except AirgapError as exc:
            code = report(exc)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def _tarball(path: Path, keys: dict[str, PrivateKey], root_bytes: bytes | None) -> Path:
    files: dict[str, bytes] = {}
    for name, key in keys.items():
        files[f"tufrepo/keys/{name}.pub"] = public_key_file(key.public_key)
        files[f"tufrepo/keys/{name}.sec"] = secret_key_file(key)
    if root_bytes is not None:
        files["tufrepo/roles/root.json"] = root_bytes
    path.write_bytes(KeysArchive.from_files(files).to_bytes(mtime=0))
    return path


@dataclass
class Setup:
    dir: Path
    keys: Path
    root: Path
    key: PrivateKey


@pytest.fixture()
def ed(tmp_path: Path) -> Setup:
    """Root rotated once: v2 with root key ROOT; OLD_ROOT still listed; a targets key in the tarball."""
    tmp_path = tmp_path / "ed"
    tmp_path.mkdir()
    root = signed_root(root_signed([ROOT], [TARGETS], version=2, also_keys=[OLD_ROOT]), [OLD_ROOT, ROOT])
    keys = _tarball(
        tmp_path / "offline-creds.tgz",
        {"first-root": OLD_ROOT, f"fioctl-root-{ROOT.keyid}": ROOT, f"fioctl-targets-{TARGETS.keyid}": TARGETS},
        root.to_bytes(),
    )
    (tmp_path / "root.json").write_bytes(root.to_bytes())
    return Setup(tmp_path, keys, tmp_path / "root.json", ROOT)


@pytest.fixture()
def rsa(tmp_path: Path) -> Setup:
    """An RSA root key, tarball without a root.json copy (so --root is needed)."""
    tmp_path = tmp_path / "rsa"
    tmp_path.mkdir()
    root = signed_root(root_signed([RSA_ROOT], [TARGETS]), [RSA_ROOT])
    keys = _tarball(tmp_path / "offline-creds.tgz", {"first-root": RSA_ROOT}, None)
    (tmp_path / "root.json").write_bytes(root.to_bytes())
    return Setup(tmp_path, keys, tmp_path / "root.json", RSA_ROOT)


def secrets_of(key: PrivateKey) -> list[str]:
    """Strings that would reveal the key if they showed up in output."""
    secret = key.secret_bytes()
    letters = b32encode(secret)
    return [secret.hex()[:24], key.private_value()[:40].split("\n")[-1][:24], letters[5:25], letters[-20:]]


def assert_no_secret(key: PrivateKey, *texts: str) -> None:
    for text in texts:
        for needle in secrets_of(key):
            assert needle not in text


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- print + verify --------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".pdf", ".png", ".svg", ".txt"])
def test_print_writes_sheets_of_the_active_root_key(cli, ed: Setup, suffix: str) -> None:
    out = ed.dir / f"sheet{suffix}"
    res = cli("print", "--keys", ed.keys, "--out", out, "--factory", "acme", "--date", "2025-02-03")
    assert res.code == 0, res.err
    assert out.exists() and mode(out) == 0o600
    assert f"key {ROOT.keyid} (ED25519, root)" in res.out
    assert OLD_ROOT.keyid not in res.out and TARGETS.keyid not in res.out
    assert_no_secret(ROOT, res.out, res.err)
    again = cli("print", "--keys", ed.keys, "--out", out)
    assert again.code == 2 and "refusing to overwrite" in again.err


def test_print_txt_verifies_typed_and_png_verifies_scanned(cli, ed: Setup) -> None:
    assert cli("print", "--keys", ed.keys, "--out", ed.dir / "s.txt", "--factory", "acme").code == 0
    assert cli("print", "--keys", ed.keys, "--out", ed.dir / "s.png").code == 0
    typed = cli("verify", "--keys", ed.keys, "--typed", ed.dir / "s.txt")
    assert typed.code == 0, typed.err
    assert f"reproduces ED25519 key {ROOT.keyid}" in typed.out and "root key of root.json v2" in typed.out
    scanned = cli("verify", "--keys", ed.keys, "--scan", ed.dir / "s.png", "--root", ed.root)
    assert scanned.code == 0, scanned.err
    assert f"QR backup of key {ROOT.keyid[:16]} reproduces" in scanned.out
    assert_no_secret(ROOT, typed.out, typed.err, scanned.out, scanned.err)


def test_rsa_multi_part_print_verify_and_restore(cli, rsa: Setup) -> None:
    res = cli("print", "--keys", rsa.keys, "--root", rsa.root, "--out", rsa.dir / "s.png", "--qr-part-bytes", "300")
    assert res.code == 0, res.err
    pages = sorted(rsa.dir.glob("s-*.png"))
    assert len(pages) >= 2 and all(mode(p) == 0o600 for p in pages)
    scans = [arg for page in pages for arg in ("--scan", page)]
    ok = cli("verify", "--keys", rsa.keys, *scans)
    assert ok.code == 0, ok.err
    assert f"RSA key {RSA_ROOT.keyid}" in ok.out
    missing = cli("verify", "--keys", rsa.keys, "--scan", pages[1])
    assert missing.code == 3 and "no QR code" in missing.err
    out = rsa.dir / "restored.tgz"
    restored = cli("restore", *scans, "--root", rsa.root, "--out", out)
    assert restored.code == 0, restored.err
    archive = KeysArchive.from_bytes(out.read_bytes())
    assert f"tufrepo/keys/fioctl-root-{RSA_ROOT.keyid}.sec" in archive.files
    assert_no_secret(RSA_ROOT, res.out, res.err, ok.out, ok.err, restored.out, restored.err)


def test_print_terminal_pauses_after_the_warning_on_a_real_terminal(ed: Setup) -> None:
    screen = run_on_terminal(
        ["backup", "print", "--keys", str(ed.keys), "--terminal", "--factory", "acme"], [("Press Enter", "")]
    )
    assert screen.returncode == 0, screen.output
    [before] = screen.at_prompt
    shown = "\n".join(before)
    assert "WARNING" in shown and "recorded" in shown
    assert "TUF ROOT KEY BACKUP" not in shown and not any(re.match(r"^\d\d: ", row) for row in before)
    assert "TUF ROOT KEY BACKUP" in screen.output and "\u2588" in screen.output  # an ED25519 code fits 80 columns
    typed = "\n".join(line for line in screen.output.splitlines() if re.match(r"^\d\d: ", line))
    (ed.dir / "from-screen.txt").write_text(typed)  # the numbered lines alone, as an officer types them
    verified = subprocess.run(
        [
            sys.executable,
            "-m",
            "appliance",
            "backup",
            "verify",
            "--keys",
            str(ed.keys),
            "--typed",
            str(ed.dir / "from-screen.txt"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verified.returncode == 0, verified.stderr
    assert "typed lines 1-" in verified.stdout and "(no header)" in verified.stdout


def test_print_terminal_refuses_a_qr_wider_than_the_terminal(rsa: Setup) -> None:
    screen = run_on_terminal(
        ["backup", "print", "--keys", str(rsa.keys), "--root", str(rsa.root), "--terminal"], [("Press Enter", "")]
    )
    assert screen.returncode == 0, screen.output
    assert "\u2588" not in screen.output  # no code drawn at all: each one is wider than 80 columns
    assert "columns wide and the terminal has 80; it is not shown. Use the typed lines below" in " ".join(
        screen.output.split()
    )
    assert "Typed backup:" in screen.output


def test_print_terminal_without_a_terminal_refuses(cli, ed: Setup) -> None:
    res = cli("print", "--keys", ed.keys, "--terminal")
    assert res.code == 2
    assert "waits for Enter" in res.err and "TUF ROOT KEY BACKUP" not in res.out


def test_restore_from_numbered_lines_alone_says_the_targets_key_is_not_restored(cli, ed: Setup) -> None:
    assert cli("print", "--keys", ed.keys, "--out", ed.dir / "s.txt").code == 0
    numbered = [line for line in (ed.dir / "s.txt").read_text().splitlines() if re.match(r"^\d\d: ", line)]
    (ed.dir / "lines.txt").write_text("\n".join(numbered) + "\n")
    res = cli("restore", "--typed", ed.dir / "lines.txt", "--root", ed.root, "--out", ed.dir / "back.tgz")
    assert res.code == 0, res.err
    assert f"restored root key {ROOT.keyid}" in res.out
    assert "the offline targets key is NOT restored" in res.out
    sheet = (ed.dir / "s.txt").read_text()
    for field in ("# root version: v2", "# supersedes:", "# witness:", "# stored in:", "# read back on:"):
        assert field in sheet
    assert "offline TARGETS key is not on this sheet" in sheet


def test_numbered_lines_alone_with_one_wrong_letter_name_the_line(cli, ed: Setup) -> None:
    assert cli("print", "--keys", ed.keys, "--out", ed.dir / "s.txt").code == 0
    numbered = [line for line in (ed.dir / "s.txt").read_text().splitlines() if re.match(r"^\d\d: ", line)]
    first = numbered[1]
    numbered[1] = first[:6] + ("B" if first[6] != "B" else "C") + first[7:]
    (ed.dir / "lines.txt").write_text("\n".join(numbered) + "\n")
    res = cli("verify", "--keys", ed.keys, "--typed", ed.dir / "lines.txt")
    assert res.code == 3
    assert "line 2 does not match its check digits" in res.err


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (["--out", "x.doc"], 2, "--out must end in one of"),
        ([], 2, "give --out FILE"),
        (["--out", "x.pdf", "--shares", "3"], 2, "go together"),
        (["--out", "x.pdf", "--shares", "3", "--threshold", "1"], 2, "--threshold must be between 2"),
        (["--out", "x.pdf", "--shares", "20", "--threshold", "2"], 2, "between 2 and 16"),
        (["--out", "x.pdf", "--factory", "bad name!"], 2, "--factory must be"),
        (["--out", "x.pdf", "--date", "2025-02-30"], 2, "not a real date"),
        (["--out", "x.pdf", "--date", "03/02/2025"], 2, "not YYYY-MM-DD"),
        (["--out", "x.pdf", "--key-id", "zz"], 2, "at least 4 hex digits"),
        (["--out", "x.pdf", "--key-id", "0000"], 5, "no private key whose id starts with 0000"),
        (["--out", "x.pdf", "--qr-part-bytes", "5"], 2, "--qr-part-bytes must be between"),
    ],
)
def test_print_refusals(cli, ed: Setup, args: list[str], code: int, fragment: str) -> None:
    args = [str(ed.dir / a) if a.startswith("x.") else a for a in args]
    res = cli("print", "--keys", ed.keys, *args)
    assert res.code == code, res.err
    assert fragment in res.err
    assert not list(ed.dir.glob("x*"))
    assert_no_secret(ROOT, res.err)


def test_print_needs_a_root_when_the_tarball_has_none(cli, rsa: Setup) -> None:
    res = cli("print", "--keys", rsa.keys, "--out", rsa.dir / "x.pdf")
    assert res.code == 2 and "--root" in res.err


def test_print_by_key_id_picks_another_key(cli, ed: Setup) -> None:
    res = cli("print", "--keys", ed.keys, "--key-id", TARGETS.keyid[:8], "--out", ed.dir / "t.txt")
    assert res.code == 0, res.err
    assert f"key {TARGETS.keyid} (ED25519, targets)" in res.out
    assert "TUF TARGETS KEY BACKUP" in (ed.dir / "t.txt").read_text()


def test_root_with_two_root_keys_prints_both(cli, tmp_path: Path) -> None:
    root = signed_root(root_signed([ROOT, OLD_ROOT], [TARGETS], root_threshold=2), [ROOT, OLD_ROOT])
    keys = _tarball(tmp_path / "k.tgz", {"a": ROOT, "b": OLD_ROOT}, root.to_bytes())
    res = cli("print", "--keys", keys, "--out", tmp_path / "both.txt")
    assert res.code == 0
    assert ROOT.keyid in res.out and OLD_ROOT.keyid in res.out
    verify = cli("verify", "--keys", keys, "--typed", tmp_path / "both.txt")
    assert verify.out.count("verified:") == 2
    export = cli("export-plain", "--keys", keys, "--out", tmp_path / "k.sec")
    assert export.code == 2 and "pick one with --key-id" in export.err


# --- verify failures -------------------------------------------------------------------------


def test_verify_names_the_wrong_line_without_revealing_it(cli, ed: Setup) -> None:
    cli("print", "--keys", ed.keys, "--out", ed.dir / "s.txt")
    text = (ed.dir / "s.txt").read_text()
    line2 = next(line for line in text.splitlines() if line.startswith("02: "))
    col = 6
    wrong = line2[:col] + ("Q" if line2[col] != "Q" else "R") + line2[col + 1 :]
    (ed.dir / "bad.txt").write_text(text.replace(line2, wrong))
    res = cli("verify", "--keys", ed.keys, "--typed", ed.dir / "bad.txt")
    assert res.code == 3
    assert "line 2 does not match its check digits" in res.err
    assert line2[4:] not in res.err and wrong[4:] not in res.err
    assert_no_secret(ROOT, res.out, res.err)


def test_verify_against_a_tarball_without_the_key(cli, ed: Setup, rsa: Setup) -> None:
    cli("print", "--keys", ed.keys, "--out", ed.dir / "s.txt")
    res = cli("verify", "--keys", rsa.keys, "--typed", ed.dir / "s.txt")
    assert res.code == 5 and "holds no private key" in res.err
    assert_no_secret(ROOT, res.out, res.err)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ([], "nothing to read"),
        (["--shares"], "needs the share files"),
        (["stray.txt"], "need --shares"),
    ],
)
def test_verify_usage_errors(cli, ed: Setup, args: list[str], fragment: str) -> None:
    res = cli("verify", "--keys", ed.keys, *args)
    assert res.code == 2 and fragment in res.err


# --- shares ----------------------------------------------------------------------------------


def _split_share_file(path: Path) -> list[Path]:
    """One file per 'share:' block, as each custodian would type theirs."""
    blocks = re.split(r"(?m)^(?=share: )", path.read_text())[1:]
    out = []
    for n, block in enumerate(blocks, 1):
        part = path.with_name(f"share{n}.txt")
        part.write_text("\n".join(line for line in block.splitlines() if not line.startswith("#")) + "\n")
        out.append(part)
    return out


def test_shares_print_verify_every_share_and_restore(cli, ed: Setup) -> None:
    res = cli("print", "--keys", ed.keys, "--out", ed.dir / "shares.txt", "--shares", "5", "--threshold", "3")
    assert res.code == 0, res.err
    text = (ed.dir / "shares.txt").read_text()
    assert all(f"share: {i} of 5 (any 3 restore)" in text for i in range(1, 6))
    files = _split_share_file(ed.dir / "shares.txt")
    verify = cli("verify", "--keys", ed.keys, "--shares", *files)
    assert verify.code == 0, verify.err
    assert "all 5 shares parse and all 10 checked 3-share combinations" in verify.out
    out = ed.dir / "restored.tgz"
    restored = cli("restore", "--shares", *files[2:], "--root", ed.root, "--out", out)
    assert restored.code == 0, restored.err
    assert KeysArchive.from_bytes(out.read_bytes()).has_private_for(ROOT.public_key)
    for f in files:
        words = [w for line in f.read_text().splitlines()[1:] for w in line.split()[1:]]
        assert len(words) >= 20
        for r in (res, verify, restored):
            for i in range(len(words) - 2):
                assert " ".join(words[i : i + 3]) not in r.out + r.err


def test_share_from_another_set_is_refused_by_verify(cli, ed: Setup) -> None:
    cli("print", "--keys", ed.keys, "--out", ed.dir / "a.txt", "--shares", "3", "--threshold", "2")
    a = _split_share_file(ed.dir / "a.txt")
    other = ed.dir / "other"
    other.mkdir()
    cli("print", "--keys", ed.keys, "--out", other / "b.txt", "--shares", "3", "--threshold", "2")
    b = _split_share_file(other / "b.txt")
    res = cli("verify", "--keys", ed.keys, "--shares", a[0], a[1], b[2])
    assert res.code == 3
    assert "belongs to share set" in res.err
    assert_no_secret(ROOT, res.err)


def test_share_sheets_as_pdf(cli, ed: Setup) -> None:
    res = cli("print", "--keys", ed.keys, "--out", ed.dir / "s.pdf", "--shares", "3", "--threshold", "2")
    assert res.code == 0
    assert (ed.dir / "s.pdf").read_bytes().count(b"/Type /Page ") == 3


# --- restore ---------------------------------------------------------------------------------


def test_restore_rebuilds_a_working_tarball(cli, ed: Setup) -> None:
    cli("print", "--keys", ed.keys, "--out", ed.dir / "s.txt", "--factory", "acme")
    out = ed.dir / "restored.tgz"
    res = cli("restore", "--typed", ed.dir / "s.txt", "--root", ed.root, "--out", out, "--factory", "acme")
    assert res.code == 0, res.err
    assert mode(out) == 0o600
    archive = KeysArchive.from_bytes(out.read_bytes())
    base = f"tufrepo/keys/fioctl-root-{ROOT.keyid}"
    assert set(archive.files) == {base + ".pub", base + ".sec", "tufrepo/roles/root.json"}
    assert archive.files["tufrepo/roles/root.json"] == ed.root.read_bytes()
    assert archive.files[base + ".sec"] == secret_key_file(ROOT)
    [entry] = archive.entries
    assert entry.private is not None and entry.private.public_key.verify("ed25519", entry.private.sign(b"x").sig, b"x")
    assert cli("verify", "--keys", out, "--typed", ed.dir / "s.txt").code == 0
    assert "private key material" in res.err
    again = cli("restore", "--typed", ed.dir / "s.txt", "--root", ed.root, "--out", out)
    assert again.code == 2 and "refusing to overwrite" in again.err


def test_restore_refuses_keys_that_are_not_root_keys(cli, ed: Setup) -> None:
    cli("print", "--keys", ed.keys, "--key-id", TARGETS.keyid[:8], "--out", ed.dir / "t.txt")
    cli("print", "--keys", ed.keys, "--key-id", OLD_ROOT.keyid[:8], "--out", ed.dir / "old.txt")
    out = ed.dir / "r.tgz"
    targets = cli("restore", "--typed", ed.dir / "t.txt", "--root", ed.root, "--out", out)
    assert targets.code == 4 and "is not a root key of root.json v2 (it holds: targets)" in targets.err
    old = cli("restore", "--typed", ed.dir / "old.txt", "--root", ed.root, "--out", out)
    assert old.code == 4 and "(it holds: no role)" in old.err
    assert not out.exists()
    as_targets = cli("restore", "--typed", ed.dir / "t.txt", "--root", ed.root, "--out", out, "--role", "targets")
    assert as_targets.code == 0
    assert f"tufrepo/keys/fioctl-targets-{TARGETS.keyid}.sec" in KeysArchive.from_bytes(out.read_bytes()).files


def test_restore_refuses_a_key_missing_from_root_and_a_wrong_factory(cli, ed: Setup, rsa: Setup) -> None:
    cli("print", "--keys", ed.keys, "--out", ed.dir / "s.txt", "--factory", "acme")
    out = ed.dir / "r.tgz"
    other = cli("restore", "--typed", ed.dir / "s.txt", "--root", rsa.root, "--out", out)
    assert other.code == 4 and "is not a key of root.json v1" in other.err
    factory = cli("restore", "--typed", ed.dir / "s.txt", "--root", ed.root, "--out", out, "--factory", "zeta")
    assert factory.code == 4 and "made for factory 'acme'" in factory.err
    assert not out.exists()
    assert_no_secret(ROOT, other.err, factory.err)


def test_restore_refuses_a_root_json_that_is_not_self_signed(cli, ed: Setup) -> None:
    cli("print", "--keys", ed.keys, "--out", ed.dir / "s.txt")
    unsigned = signed_root(root_signed([ROOT], [TARGETS], version=2), [])
    bad = ed.dir / "unsigned-root.json"
    bad.write_bytes(unsigned.to_bytes())
    res = cli("restore", "--typed", ed.dir / "s.txt", "--root", bad, "--out", ed.dir / "r.tgz")
    assert res.code == 4 and "not signed by its own root keys" in res.err


# --- export-plain ----------------------------------------------------------------------------


def test_export_plain_writes_the_exact_sec_bytes(cli, ed: Setup) -> None:
    out = ed.dir / "root-key.sec"
    res = cli("export-plain", "--keys", ed.keys, "--out", out)
    assert res.code == 0, res.err
    stored = KeysArchive.from_bytes(ed.keys.read_bytes()).files[f"tufrepo/keys/fioctl-root-{ROOT.keyid}.sec"]
    assert out.read_bytes() == stored
    assert mode(out) == 0o600
    assert "WARNING" in res.err and "plain text" in res.err
    assert_no_secret(ROOT, res.out, res.err)
    again = cli("export-plain", "--keys", ed.keys, "--out", out)
    assert again.code == 2 and "refusing to overwrite" in again.err


def test_export_plain_rsa_with_explicit_root(cli, rsa: Setup) -> None:
    out = rsa.dir / "k.sec"
    assert cli("export-plain", "--keys", rsa.keys, "--root", rsa.root, "--out", out).code == 0
    assert out.read_bytes() == secret_key_file(RSA_ROOT)


def test_export_plain_refuses_when_the_root_key_is_absent(cli, tmp_path: Path) -> None:
    root = signed_root(root_signed([ROOT], [TARGETS]), [ROOT])
    keys = _tarball(tmp_path / "k.tgz", {"other": OLD_ROOT}, root.to_bytes())
    res = cli("export-plain", "--keys", keys, "--out", tmp_path / "k.sec")
    assert res.code == 5 and "holds no private key of the root key(s)" in res.err
    assert not (tmp_path / "k.sec").exists()


# --- the real entry point --------------------------------------------------------------------


def test_real_cli_reports_errors_cleanly(ed: Setup) -> None:
    (ed.dir / "junk.txt").write_text("format: TUFBK1\nkeytype: ED25519\nbytes: 32\n01: AAAAA  0000\ncheck: 00\n")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "appliance",
            "backup",
            "verify",
            "--keys",
            str(ed.keys),
            "--typed",
            str(ed.dir / "junk.txt"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert out.returncode == 3, out.stderr
    assert out.stderr.startswith("error: ") and "\nhint: " in out.stderr
    assert "Traceback" not in out.stderr


def test_multi_page_png_refuses_when_any_page_file_exists(cli, rsa: Setup) -> None:
    (rsa.dir / "s-2.png").write_bytes(b"keep me")
    res = cli("print", "--keys", rsa.keys, "--root", rsa.root, "--out", rsa.dir / "s.png", "--qr-part-bytes", "300")
    assert res.code == 2 and "s-2.png already exists" in res.err
    assert not (rsa.dir / "s-1.png").exists()
    assert (rsa.dir / "s-2.png").read_bytes() == b"keep me"
