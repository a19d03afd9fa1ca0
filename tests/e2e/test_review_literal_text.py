"""Outside text reaches every screen literally: no markup, escapes visible, ASCII terminals served.

A corpus of rich markup goes through every review (rotate-root, rotate-targets, sign-targets)
and the transcript and keys screens, run as real CLIs; the literal text must be on stdout and
no escape byte may be.  The same screens run with terminals that cannot encode UTF-8.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from rich.text import Text

from appliance.common.render import console, styled
from appliance.core.metadata import Envelope
from appliance.core.safetext import ascii_only, capped, capped_middle, quoted, shown, visible
from appliance.core.targets import add_signatures
from appliance.core.timefmt import format_expires
from tests.helpers_ceremony import NOW, make_bench, make_factory, rotate_request, run, run_operation, seeded, write_keys
from tests.helpers_screen import run_on_terminal

# Printable-ASCII markup (bundle strings must be printable ASCII; these are what a hostile
# bundle can carry) that rich would interpret, hide or turn into a link.
MARKUP = [
    "[/]",
    "[/b]",
    "[conceal]evil-backdoor-9.9[/conceal]",
    "[black on black]hidden[/black on black]",
    "[link=http://evil.example/]update[/link]",
    ":warning: [bold red]fake[/]",
    "\\[escaped]",
]
UNSAFE = ("\x00", "\x07", "\x1b", "\x9b", "\x9d", "\u202e", "\u2066", "\u200b", "\ufeff")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("plain name", "plain name"),
        ("\x1b[2J", "\\x1b[2J"),
        ("\x1b]8;;http://x\x07link", "\\x1b]8;;http://x\\x07link"),
        ("\x9b31m", "\\x9b31m"),
        ("abc\u202egpj.exe", "abc\\u202egpj.exe"),
        ("\u2066iso\u2069", "\\u2066iso\\u2069"),
        ("a\u200bb\u200fc\u2060d\ufeff", "a\\u200bb\\u200fc\\u2060d\\ufeff"),
        ("nul\x00byte", "nul\\x00byte"),
        ("line\nbreak", "line\\nbreak"),
        ("r\u00e9vision", "r\u00e9vision"),
        ("\U000e0041tag", "\\U000e0041tag"),
    ],
)
def test_visible_escapes_everything_a_terminal_would_act_on(raw: str, expected: str) -> None:
    assert visible(raw) == expected
    assert visible(visible(raw)) == visible(raw)  # idempotent: safe to apply twice


def test_caps_keep_names_and_messages_short() -> None:
    name = "a" * (4 << 20)
    assert capped(name) == "a" * 200 + f"\u2026 ({4 << 20} characters)"
    assert quoted(name).startswith("'aaa") and quoted(name).endswith(f"'\u2026 ({4 << 20} characters)")
    assert quoted("x\x1by") == "'x\\x1by'"
    assert len(capped_middle("m" * 100_000)) < 2100
    assert shown("\x1b" + "b" * 300).startswith("\\x1bbbb")
    assert ascii_only("key 0123\u2026 \u2192 r\u00e9") == "key 0123... -> r\\xe9"


def test_the_console_never_parses_markup_nor_passes_escapes() -> None:
    out = console()
    out.file = _Capture()
    for text in [*MARKUP, "\x1b]0;title\x07", "bidi \u202e txt"]:
        out.print(text)
        out.print(Text(text))
        out.print(styled(("bold", "bold"), text))
    out.print_json('{"a": "\\u001b[31m \\u202e"}')
    shown_text = out.file.getvalue()
    for text in MARKUP:
        assert text in shown_text
    assert "\\x1b]0;title\\x07" in shown_text and "\\u202e" in shown_text
    assert not any(ch in shown_text for ch in UNSAFE)


class _Capture:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.encoding = "utf-8"

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def getvalue(self) -> str:
        return "".join(self.parts)


def _assert_literal(stdout: str, texts: list[str]) -> None:
    for text in texts:
        assert text in stdout, text
    assert not any(ch in stdout for ch in UNSAFE)


@pytest.fixture()
def bench(tmp_path: Path):
    return make_bench(tmp_path)


def test_rotate_root_review_shows_markup_literally(bench, tmp_path: Path) -> None:
    factory = make_factory()
    keys = write_keys(tmp_path / "creds.tgz", factory.archive)
    changelog = " ".join(MARKUP)
    _, data = rotate_request(factory, bench.station, parameters={"key_type": "ED25519", "changelog": changelog})
    (bench.stick / "req.json").write_bytes(data)
    result = run_operation(
        "rotate-root", bench.home, keys, bench.stick / "req.json", bench.stick, "--yes", env={"COLUMNS": "4000"}
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    _assert_literal(result.stdout, MARKUP)

    transcript = run("appliance", "transcript", "--home", str(bench.home))
    assert transcript.returncode == 0, transcript.stderr
    _assert_literal(transcript.stdout, ["rotate-root", "acme"])


def test_rotate_targets_review_shows_markup_literally(bench, tmp_path: Path) -> None:
    factory = make_factory()
    keys = write_keys(tmp_path / "creds.tgz", factory.archive)
    changelog = " ".join(MARKUP)
    _, data = rotate_request(
        factory,
        bench.station,
        operation="rotate-targets",
        parameters={"key_type": "ED25519", "changelog": changelog},
    )
    from appliance.core.bundle import Request as _Request
    from appliance.core.bundle import open_request, seal

    req = open_request(data, bench.station.peer)
    extra = {"online_targets_key": factory.online["targets"].public_key.to_dict(), "production_targets": {}}
    req = _Request(
        req.factory, req.request_id, req.created, req.sequence, req.operation, req.parameters, {**req.payload, **extra}
    )
    (bench.stick / "req.json").write_bytes(seal(req.body(), bench.station))
    result = run_operation(
        "rotate-targets", bench.home, keys, bench.stick / "req.json", bench.stick, "--yes", env={"COLUMNS": "4000"}
    )
    assert result.returncode == 0, result.stderr
    _assert_literal(result.stdout, MARKUP)


def _hostile_wave(factory, names: list[str]) -> Envelope:  # type: ignore[no-untyped-def]
    signed = {
        "_type": "Targets",
        "version": 5,
        "expires": format_expires(NOW + timedelta(days=30)),
        "targets": {
            name: {
                "hashes": {"sha256": "ab" * 32},
                "length": 0,
                "custom": {"name": name, "version": name, "hardwareIds": [name], "tags": [name]},
            }
            for name in names
        },
    }
    envelope = Envelope(signed, ())
    return add_signatures(envelope, [factory.online["targets"].sign(envelope.signed_bytes())])


def test_sign_targets_review_shows_target_names_literally(bench, tmp_path: Path) -> None:
    from appliance.core.bundle import make_request, seal

    factory = make_factory(offline_targets=seeded(20))
    keys = write_keys(tmp_path / "creds.tgz", factory.archive)
    envelope = _hostile_wave(factory, MARKUP)
    payload = {"ci_roots": [r.to_dict() for r in factory.ci], "prod_roots": [r.to_dict() for r in factory.prod]}
    wave = {"name": "[conceal]w1[/conceal]", "targets": envelope.to_dict()}
    req = make_request(
        factory="acme",
        operation="sign-targets",
        parameters={"wave": wave["name"]},
        payload=payload | {"online_targets_key": factory.online["targets"].public_key.to_dict(), "wave": wave},
        sequence=1,
        now=NOW,
        random_bytes=os.urandom,
    )
    (bench.stick / "req.json").write_bytes(seal(req.body(), bench.station))
    result = run_operation(
        "sign-targets", bench.home, keys, bench.stick / "req.json", bench.stick, "--yes", env={"COLUMNS": "4000"}
    )
    assert result.returncode == 0, result.stderr
    _assert_literal(result.stdout, [*MARKUP, "[conceal]w1[/conceal]"])


ASCII_TERMINALS = {
    "PYTHONIOENCODING=ascii": {"PYTHONIOENCODING": "ascii"},
    "LC_ALL=C": {"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0", "PYTHONIOENCODING": ""},
}


@pytest.mark.parametrize("terminal", ASCII_TERMINALS, ids=list(ASCII_TERMINALS))
def test_every_screen_works_on_an_ascii_terminal(bench, tmp_path: Path, terminal: str) -> None:
    env = ASCII_TERMINALS[terminal]
    factory = make_factory()
    keys = write_keys(tmp_path / "creds.tgz", factory.archive)
    _, data = rotate_request(factory, bench.station)
    (bench.stick / "req.json").write_bytes(data)
    review = run_operation("rotate-root", bench.home, keys, bench.stick / "req.json", bench.stick, "--yes", env=env)
    assert review.returncode == 0, review.stderr
    assert "read aloud:" in review.stdout
    assert "---- rotate-root for factory acme: details ----" in review.stdout  # the rule has an ASCII stand-in
    screens = [
        run("appliance", "keys", "--keys", str(keys), env=env),
        run("appliance", "transcript", "--home", str(bench.home), env=env),
        run("appliance", "keys", "--keys", str(tmp_path / "missing\u2026.tgz"), env=env),
    ]
    for screen in [review, *screens]:
        assert "Traceback" not in screen.stderr and "UnicodeEncodeError" not in screen.stderr, screen.stderr
        (screen.stdout + screen.stderr).encode("ascii")
    assert [s.returncode for s in screens] == [0, 0, 2]
    # --terminal waits for Enter after its warning: it runs on a (pseudo-)terminal
    sheet = run_on_terminal(["backup", "print", "--keys", str(keys), "--terminal"], [("Press Enter", "")], env=env)
    assert sheet.returncode == 0 and "Traceback" not in sheet.output
    sheet.output.encode("ascii")
    assert "##" in sheet.output or "not shown. Use the typed lines" in " ".join(sheet.output.split())


MARKUP_IN_CODE = r"""markup\s*=\s*True|\[/\]|["'][^"'\n]*\[/?(?:bold|italic|red|green|dim|link|conceal)\b[^\]\n]*\]"""
# A console is only ever made by its module's factory (render.console, plaintext.plain_console).
CONSOLE_CLASSES = {
    r"\bConsole\(": "appliance/common/render.py",
    r"\bLiteralConsole\(": "appliance/common/render.py",
    r"\bPlainConsole\(": "appliance/common/plaintext.py",
}
# Writing a screen: a console of either renderer, or a direct write the module applies the rule to.
SCREEN_WRITE = r"\b(?:console|plain_console)\(|sys\.std(?:out|err)\.write\(|typer\.(?:echo|secho)\("


def test_all_rendering_goes_through_the_literal_console() -> None:
    """One rule, not per call site: no other console, no markup in program text, no markup switch."""
    import re

    root = Path(__file__).resolve().parents[2]
    sources = [*root.glob("appliance/**/*.py"), *root.glob("online/**/*.py")]
    assert len(sources) > 50  # the check reads the real tree
    offenders = []
    for path in sources:
        text = path.read_text()
        rel = path.relative_to(root).as_posix()
        for pattern, home in CONSOLE_CLASSES.items():
            if rel != home and re.search(pattern, text):
                offenders.append(f"{rel}: builds its own console ({pattern})")
        if re.search(MARKUP_IN_CODE, text):
            offenders.append(f"{rel}: rich markup")
        if re.search(r"\bimport rich|\bfrom rich\b", text) and rel != "appliance/common/render.py":
            offenders.append(f"{rel}: imports rich outside the rendering module")
    assert offenders == []
    # Both renderers are in use: the plain one by the listing commands, rich by the review.
    users = {path.relative_to(root).as_posix() for path in sources if re.search(SCREEN_WRITE, path.read_text())}
    assert {"appliance/commands/inspect.py", "appliance/commands/targets.py", "online/commands/showroot.py"} <= users


def test_the_plain_renderer_applies_the_rule_at_its_one_write() -> None:
    """Every byte the plain console writes passes the rule: its only write is in ``print``, after cleaning."""
    import ast

    root = Path(__file__).resolve().parents[2]
    tree = ast.parse((root / "appliance/common/plaintext.py").read_text())
    writes = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "write"
    ]
    assert len(writes) == 1
    printer = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "print")
    assert writes[0] in list(ast.walk(printer))


def test_the_plain_console_shows_outside_text_literally() -> None:
    from appliance.common.plaintext import Column, PlainConsole, PlainTable

    capture = _Capture()
    out = PlainConsole(file=capture)  # type: ignore[arg-type]
    table = PlainTable("title [b]x[/b] \x1b[2J", (Column("name"), Column("n", right=True)))
    for text in [*MARKUP, "\x1b]0;title\x07", "bidi \u202e txt", "cell\nforged row"]:
        out.print(text)
        table.add_row(text, "1")
    out.print(table)
    shown_text = capture.getvalue()
    for text in MARKUP:
        assert text in shown_text
    assert "\\x1b]0;title\\x07" in shown_text and "\\u202e" in shown_text and "\\x1b[2J" in shown_text
    assert "cell\\nforged row" in shown_text  # a cell is one line: the break is shown, not obeyed
    assert not any(ch in shown_text for ch in UNSAFE)


def test_the_plain_table_is_fixed_width_text() -> None:
    from appliance.common.plaintext import Column, PlainConsole, PlainTable

    table = PlainTable("keys", (Column("file"), Column("bits", right=True), Column("note")), caption=("signed by: a",))
    table.add_row("root.pub", "256", "")
    table.add_row("a-much-longer-name.pub", "4096", "r\u00e9")
    capture = _Capture()
    PlainConsole(file=capture).print(table)  # type: ignore[arg-type]
    assert capture.getvalue().splitlines() == [
        "keys",
        "file                    bits  note",
        "----------------------  ----  ----",
        "root.pub                 256",
        "a-much-longer-name.pub  4096  r\u00e9",
        "signed by: a",
    ]
    capture.encoding = "ascii"
    PlainConsole(file=capture).print(table)  # type: ignore[arg-type]
    assert capture.getvalue().splitlines()[-2] == "a-much-longer-name.pub  4096  r\\xe9"
