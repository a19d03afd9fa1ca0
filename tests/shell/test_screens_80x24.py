"""Golden screens: the officer at an 80x24 console (a real pseudo-terminal and a VT100 emulator).

Each snapshot is the 24 rows the officer sees when a prompt appears; run-dependent values
(ids, digests, words, times) are masked and the rest is compared with tests/golden/screens/.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers_ceremony import (
    init_home,
    make_bench,
    make_factory,
    operation_args,
    rotate_request,
    run,
    write_keys,
)
from tests.helpers_screen import COLUMNS, ROWS, golden, run_on_terminal

CONFIRM = "to continue"


@pytest.fixture()
def ceremony(tmp_path: Path):
    bench = make_bench(tmp_path)
    factory = make_factory()
    keys = write_keys(tmp_path / "creds.tgz", factory.archive)
    req, data = rotate_request(factory, bench.station)
    (bench.stick / "request.json").write_bytes(data)
    args = operation_args("rotate-root", bench.home, keys, bench.stick / "request.json", bench.stick)
    return bench, keys, req, args


def _summary(rows: list[str]) -> dict[str, str]:
    """The summary's labelled rows, as the officer reads them on the screen."""
    found = {}
    for row in rows:  # labels fill the first 11 columns, values start at column 12
        label = row[:11].strip()
        if label in ("request", "station", "changes", "new key", "read aloud") and row[10:11] == " ":
            found.setdefault(label, row[11:])
    return found


def test_rotate_root_review_keeps_the_summary_above_the_prompt(ceremony) -> None:
    bench, keys, req, args = ceremony
    screen = run_on_terminal(args, [(CONFIRM, "rotate-root acme")], pager="")
    assert screen.returncode == 0, screen.output
    assert screen.pages, "the details of a rotate-root do not fit 24 rows: they are paged"
    [at_prompt] = screen.at_prompt
    assert all(len(row) <= COLUMNS for row in at_prompt) and len(at_prompt) == ROWS
    facts = _summary(at_prompt)
    assert facts["request"].startswith(f"{req.request_id}  sequence {req.sequence}")
    assert facts["station"].startswith(bench.station.peer.fingerprint[:16])
    assert facts["changes"].startswith("CI root v1 -> v2; root keys +1 -1")
    assert len(facts["read aloud"].split()) == 8
    assert at_prompt[-1].startswith("Type 'rotate-root acme' to continue")
    assert "act REVIEW of: tuf-appliance script rotate-root" in at_prompt[-2]
    summary_starts = next(i for i, row in enumerate(at_prompt) if row.startswith("== confirm"))
    golden("rotate-root-summary-at-prompt", at_prompt[summary_starts:])  # the details above vary
    golden("rotate-root-details-page-1", screen.pages[0])
    after = "\n".join(screen.final)
    assert "paper backups: the root keys changed (root v1 -> v2)" in screen.output
    assert "tuf-appliance backup print --keys" in screen.output and "--supersedes 'root v1'" in screen.output
    assert "response digest and its words:" in after


def test_mistyped_confirmation_is_asked_again_and_the_rerun_keeps_the_key(ceremony) -> None:
    bench, keys, req, args = ceremony
    before = keys.read_bytes()
    first = run_on_terminal(args, [(CONFIRM, "yes"), (CONFIRM, "rotate-root acm"), (CONFIRM, "no")], pager="q")
    assert first.returncode == 9
    third = first.at_prompt[2]
    golden("rotate-root-third-try", third[next(i for i, r in enumerate(third) if r.startswith("== confirm")) :])
    assert "the confirmation did not match 3 times; nothing was changed" in first.output
    assert keys.read_bytes() == before and not list(bench.stick.glob("response-*"))
    review_only = run("appliance", *args, "--review-only")
    assert review_only.returncode == 0, review_only.stderr
    assert "review only: nothing was changed" in review_only.stdout
    assert keys.read_bytes() == before and not list(bench.stick.glob("response-*"))
    second = run_on_terminal(args, [(CONFIRM, "rotate-root acme")], pager="q")
    assert second.returncode == 0
    one, two = _summary(first.at_prompt[0]), _summary(second.at_prompt[0])
    assert one["new key"] == two["new key"] and one["read aloud"] == two["read aloud"]
    assert one["new key"] in review_only.stdout and one["read aloud"] in review_only.stdout
    assert not list((bench.home / "pending").glob("*")), "the kept key is removed once the response is written"


def test_review_only_prints_every_detail_without_a_prompt(ceremony) -> None:
    bench, keys, req, args = ceremony
    done = run("appliance", *args, "--review-only", "--full-ids")
    assert done.returncode == 0, done.stderr
    assert "Type '" not in done.stdout + done.stderr
    assert "x-changelog.message: scheduled rotation" in done.stdout and "{'" not in done.stdout
    new_key = re.search(r"new key    root ([0-9a-f]{64})", done.stdout)
    assert new_key is not None, done.stdout
    for line in done.stdout.splitlines():
        assert len(line) <= 80, line


def test_pairing_asks_for_the_other_screens_words_and_never_shows_them(tmp_path: Path) -> None:
    from appliance.core.identity import PeerKey, fingerprint_words

    home, station_home = tmp_path / "appliance", tmp_path / "station"
    init_home("appliance", home)
    init_home("online", station_home)
    station = PeerKey.from_bytes((station_home / "identity.pub").read_bytes())
    words = " ".join(fingerprint_words(station.public))
    args = ["pair", "--home", str(home), "--peer", str(station_home / "identity.pub")]
    wrong = run_on_terminal(args, [(CONFIRM, "able acid"), (CONFIRM, "x"), (CONFIRM, "y")])
    assert wrong.returncode == 9 and not (home / "peer.pub").exists()
    assert words not in wrong.output
    golden("pair-first-prompt", wrong.at_prompt[0])
    right = run_on_terminal(args, [(CONFIRM, words.upper())])
    assert right.returncode == 0, right.output
    assert "its words match" in right.output and (home / "peer.pub").exists()
    mine = PeerKey.from_bytes((home / "identity.pub").read_bytes())
    assert " ".join(fingerprint_words(mine.public)) in right.output  # this side's own words, to be read aloud
    back = run("online", "pair", "--home", str(station_home), "--peer", str(station_home / "identity.pub"))
    assert back.returncode == 2
    assert back.stderr.startswith("error: --peer ") and "is the station's own identity file" in back.stderr


def test_ceremony_script_fits_80_columns_and_names_the_review_act(tmp_path: Path) -> None:
    for operation in ("rotate-root", "rotate-targets", "sign-targets", "init-wave", "pair"):
        done = run("appliance", "script", operation)
        assert done.returncode == 0
        assert all(len(line) <= 78 for line in done.stdout.splitlines())
        assert "IW initials" in done.stdout and "SIGN-OFF" in done.stdout
        if operation != "pair":
            assert "ACT 4: REVIEW" in done.stdout
    assert "new key words: __________" in run("appliance", "script", "rotate-root").stdout
    pdf = tmp_path / "script.pdf"
    assert run("appliance", "script", "rotate-root", "--out", str(pdf)).returncode == 0
    assert pdf.read_bytes().startswith(b"%PDF-1.4")
    bad = run("appliance", "script", "rotate-everything")
    assert bad.returncode == 2
    assert "hint: Scripts: rotate-root, rotate-targets, sign-targets, init-wave, pair." in bad.stderr


def test_policy_default_on_and_turning_it_off_is_recorded(tmp_path: Path) -> None:
    home = tmp_path / "appliance"
    init_home("appliance", home, readback=True)
    shown = run("appliance", "policy", "--home", str(home))
    assert shown.stdout.strip() == "require backup read-back: yes"
    off = run("appliance", "policy", "--home", str(home), "--no-require-backup-readback")
    assert off.returncode == 0 and "recorded in the transcript" in off.stdout
    listed = run("appliance", "transcript", "--home", str(home))
    assert "policy" in listed.stdout
    assert re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", listed.stdout), listed.stdout  # times in full


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--validity-days", "0"], "error: --validity-days 0: the new root must be valid for 1 to 3660 days\n"),
        (["--key-type", "DSA"], "error: --key-type 'DSA': the new key's type must be ED25519 or RSA\n"),
        (["-m", "x" * 1001], "error: -m: the reason is 1001 characters; at most 1000 fit in x-changelog\n"),
    ],
)
def test_station_option_errors_are_usage_errors_golden(tmp_path: Path, args: list[str], message: str) -> None:
    done = run(
        "online",
        "export",
        "rotate-root",
        "--out",
        str(tmp_path),
        "--server",
        "http://127.0.0.1:9",
        "--factory",
        "acme",
        "--token",
        "t",
        "--home",
        str(tmp_path / "none"),
        *args,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(message)
    assert "bundle" not in done.stderr and "validity_days" not in done.stderr
    hint = done.stderr[len(message) :]
    assert hint == "" or (hint.startswith("hint: ") and message[7:30] not in hint)


def test_keys_lists_whole_file_names_and_roles_from_the_tarball(tmp_path: Path) -> None:
    factory = make_factory()
    keys = write_keys(tmp_path / "creds.tgz", factory.archive)
    done = subprocess.run(
        [sys.executable, "-m", "appliance", "keys", "--keys", str(keys), "--full-ids"],
        capture_output=True,
        text=True,
        env={"COLUMNS": "80", "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "roles from the tarball's tufrepo/roles/root.json" in done.stdout
    for entry in factory.archive.entries:
        name = entry.base.rsplit("/", 1)[-1]
        assert name in "".join(done.stdout.split()), name  # the whole name, possibly folded, never cut
        assert f"\n  {entry.keyid}\n" in done.stdout
    assert "root" in done.stdout


def test_review_is_the_same_for_an_unchanged_request(ceremony) -> None:
    """Two --review-only runs of one request print the same review (same pending key)."""
    bench, keys, req, args = ceremony
    one = run("appliance", *args, "--review-only")
    two = run("appliance", *args, "--review-only")
    digest = [hashlib.sha256(r.stdout.encode()).hexdigest() for r in (one, two)]
    assert digest[0] == digest[1]
    assert one.returncode == 0 and not (bench.home / "state.json").exists()  # no state changed
    assert not list(bench.stick.glob("response-*"))


def test_readme_install_and_ceremony_fit_an_80x24_console() -> None:
    """Each command block of the README's install, ceremony and backup sections fits 80
    columns and one screen, so the officer follows it without scrolling back."""
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    for section in ("## Install", "## A real ceremony", "## Paper backup of root keys"):
        body = readme.split(section, 1)[1].split("\n## ", 1)[0]
        blocks = re.findall(r"```sh\n(.*?)```", body, re.S)
        assert blocks, section
        for block in blocks:
            lines = block.splitlines()
            assert len(lines) <= ROWS - 4, (section, lines[0])
            assert all(len(line) <= COLUMNS - 2 for line in lines), section
    assert "put both commands on PATH" in readme and "/usr/local/bin/" in readme
