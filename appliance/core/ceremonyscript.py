"""Ceremony scripts: the steps of one ceremony for the officer and the witnesses, as text.

Modelled on the root zone KSK ceremony scripts: named participants, acts of numbered steps,
each step saying who does it, what to compare, which values to write down, and a place for
the witness's initials and the time; a sign-off at the end.  The appliance's confirmation
prompt points at the act named ``REVIEW`` ("Check the summary against act REVIEW of ...").
Pure: ``script_lines`` returns lines of at most ``WIDTH`` characters.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from .errors import UsageError

WIDTH = 78
REVIEW = "Review"
BLANK = "________________"
WORDS = "__________ __________ __________ __________ / __________ __________ __________ __________"


@dataclass(frozen=True)
class Step:
    who: str
    text: str
    record: tuple[str, ...] = ()  # values written down on the script at this step


@dataclass(frozen=True)
class Act:
    name: str
    steps: tuple[Step, ...]


PARTICIPANTS = (
    ("CA", "ceremony administrator: runs the station and the appliance, reads values aloud"),
    ("IW", "internal witness: compares every value read aloud, initials each step"),
    ("SO", "security officer: brings the keys tarball and paper backups from the safe"),
)

_PREPARE = Act(
    "Prepare",
    (
        Step("CA", "Print this script (tuf-appliance script OPERATION --out script.pdf). Fill in the header."),
        Step(
            "SO",
            "Take the keys tarball and the sealed backup envelopes from the safe; check the seals.",
            ("tamper-evident bag numbers",),
        ),
        Step("IW", "Check that the appliance has no network: no cable, radios off."),
    ),
)

_EXPORT = Act(
    "Station: export the request",
    (
        Step(
            "CA",
            "On the station run 'tuf-online export OPERATION ... --out /media/stick'. Read aloud the "
            "request id and sequence it prints.",
            ("request id (first 8)", "sequence"),
        ),
        Step("CA", "Unmount the stick and carry it to the appliance. The IW keeps it in sight."),
    ),
)


def _run(command: str) -> Act:
    return Act(
        "Appliance: run",
        (
            Step(
                "CA",
                f"On the appliance run '{command}'. Read the details page by page (Enter), or 'q' "
                "to go straight to the summary.",
            ),
        ),
    )


def _review(changes: str, new_key: bool) -> Act:
    steps = [
        Step(
            "IW",
            "The summary above the prompt shows the operation and the factory: they are the ones "
            "named in the header of this script.",
        ),
        Step(
            "IW",
            "The request id and sequence in the summary are the ones written down at the export.",
            ("matches: yes / no",),
        ),
        Step(
            "CA",
            "Read aloud the station's 8 words from the summary; the IW compares them with the "
            "station's 'tuf-online whoami'.",
            ("station words",),
        ),
        Step("IW", f"What changes: {changes}"),
    ]
    if new_key:
        steps.append(
            Step(
                "CA",
                "Read aloud the new key's id (16 digits) and its 8 words; the IW writes them down. "
                "A re-run of the same request shows the same key and words.",
                ("new key id", "new key words"),
            )
        )
    steps.append(
        Step(
            "CA",
            "Type the confirmation the prompt names (three tries). If anything differs, "
            "type nothing and stop: nothing has changed.",
        )
    )
    return Act(REVIEW, tuple(steps))


_BACKUP = Act(
    "Paper backup of the new root key",
    (
        Step(
            "CA",
            'Print new sheets: \'tuf-appliance backup print --keys TARBALL --supersedes "root vN" '
            "--out root-vN+1.pdf' (the appliance prints this command).",
        ),
        Step(
            "CA",
            "Read the sheet back: re-run the same command with --backup-scan PHOTO or --backup-typed "
            "FILE until the response is written (the read-back policy withholds it until then).",
            ("read back on (date)",),
        ),
        Step(
            "SO",
            "Fill in the sheet's witness and storage fields; put it in an envelope; destroy the "
            "sheets it supersedes, witnessed.",
            ("envelope number", "superseded sheets destroyed: yes / no"),
        ),
    ),
)

_IMPORT = Act(
    "Station: import the response",
    (
        Step("CA", "Read aloud the response digest words and the transcript seal words from the appliance."),
        Step(
            "CA",
            "On the station run 'tuf-online import /media/stick/response-<id>.json'. Before it "
            "uploads it shows the response digest, the appliance's words and each new key's words: the IW "
            "compares them with what was read aloud.",
            ("response digest (first 8)", "transcript seal (first 8)"),
        ),
        Step("CA", "If the import stops between the CI and the production upload, re-run it at once."),
    ),
)

_CLOSE = Act(
    "Close",
    (
        Step("SO", "Return the keys tarball and the envelopes to the safe; record the bag numbers.", ("bag numbers",)),
        Step("IW", "Run 'tuf-appliance transcript' and compare its seal with the one written down."),
    ),
)


def _pair() -> tuple[Act, ...]:
    return (
        Act(
            "Pair the station and the appliance",
            (
                Step("CA", "On each side run 'init' once; carry each identity.pub to the other side."),
                Step(
                    "CA",
                    "On the appliance run 'tuf-appliance pair --peer station.pub'. It shows the "
                    "appliance's own words; it never shows the station's.",
                ),
                Step(
                    "IW",
                    "On the station run 'tuf-online whoami' and read its 8 words aloud; the CA types "
                    "them at the appliance's prompt.",
                    ("station words",),
                ),
                Step(
                    "CA",
                    "On the station run 'tuf-online pair --peer appliance.pub'; read aloud the appliance "
                    "words from the appliance's screen; type them at the station.",
                    ("appliance words",),
                ),
            ),
        ),
    )


def _acts(operation: str) -> tuple[Act, ...]:
    if operation == "pair":
        return (_PREPARE, *_pair(), _CLOSE)
    if operation == "rotate-root":
        command = "tuf-appliance rotate-root --keys TARBALL --request /media/stick/request-<id>.json --out /media/stick"
        changes = (
            "a new root key replaces the old one in the CI and the production root; the version goes up by one in both."
        )
        return (_PREPARE, _EXPORT, _run(command), _review(changes, True), _BACKUP, _IMPORT, _CLOSE)
    if operation == "rotate-targets":
        command = "tuf-appliance rotate-targets --keys TARBALL --request ... --out /media/stick"
        changes = (
            "a new offline targets key replaces the old one (the online key stays); CI threshold 1, "
            "production threshold 2; keys no role uses leave the key list (the review says which)."
        )
        return (_PREPARE, _EXPORT, _run(command), _review(changes, True), _IMPORT, _CLOSE)
    if operation in ("sign-targets", "init-wave"):
        command = f"tuf-appliance {operation} --keys TARGETS-TARBALL --request ... --out /media/stick"
        changes = (
            "the wave's production targets get the offline signature. Compare the wave, tag, targets "
            "and the difference from the tag's current targets with the release plan; check the "
            "production root version and the signature count."
        )
        act = _review(changes, False)
        digest = Step(
            "IW", "Write down the sha256 the summary shows: it names exactly what is signed.", ("sha256 (first 16)",)
        )
        steps = (*act.steps[:-1], digest, act.steps[-1])
        return (_PREPARE, _EXPORT, _run(command), Act(act.name, steps), _IMPORT, _CLOSE)
    raise UsageError(
        f"OPERATION {operation!r}: there is no ceremony script by that name",
        hint=f"Scripts: {', '.join(SCRIPTS)}.",
    )


SCRIPTS = ("rotate-root", "rotate-targets", "sign-targets", "init-wave", "pair")


def script_lines(operation: str) -> list[str]:
    """The whole script as lines of at most ``WIDTH`` characters."""
    acts = _acts(operation)
    out = [
        f"TUF-AIRGAP CEREMONY SCRIPT: {operation}",
        "",
        f"factory: {BLANK}{BLANK}   date: {BLANK}",
        f"location: {BLANK}{BLANK}",
        "",
        "Participants (name, signature):",
    ]
    for code, role in PARTICIPANTS:
        out.extend(textwrap.wrap(f"{code}  {role}", WIDTH, subsequent_indent="    "))
        out.append(f"    name: {BLANK}{BLANK}  signature: {BLANK}")
    number = 0
    for index, act in enumerate(acts, 1):
        out.extend(["", f"ACT {index}: {act.name.upper()}", "-" * WIDTH])
        for step in act.steps:
            number += 1
            head = f"{number:>2}. [{step.who}] "
            text = step.text.replace("OPERATION", operation)
            out.extend(textwrap.wrap(head + text, WIDTH, subsequent_indent=" " * len(head)))
            for value in step.record:
                blank = WORDS if "words" in value else BLANK * 2
                out.extend(
                    textwrap.wrap(
                        f"{value}: {blank}", WIDTH, initial_indent=" " * len(head), subsequent_indent=" " * len(head)
                    )
                )
            out.append(" " * len(head) + "IW initials: ____   time: ______")
    out.extend(
        [
            "",
            "SIGN-OFF",
            "-" * WIDTH,
            "We attest that the ceremony followed this script; exceptions are listed below.",
            f"exceptions: {BLANK * 3}",
            f"CA: {BLANK}  IW: {BLANK}  SO: {BLANK}",
        ]
    )
    return out
