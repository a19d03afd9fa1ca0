"""online.config: server URL, token and factory from options, token file or environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.core.errors import UsageError
from online.config import ENV_FACTORY, ENV_SERVER, ENV_TOKEN, resolve_connection, resolve_token

ENV = {ENV_SERVER: "https://env.example.com/", ENV_TOKEN: "env-token", ENV_FACTORY: "envfactory"}


@pytest.mark.parametrize(
    ("options", "env", "expected"),
    [
        ((None, None, None), ENV, ("https://env.example.com", "envfactory", "env-token")),
        (("http://127.0.0.1:8765", "acme", "opt-token"), ENV, ("http://127.0.0.1:8765", "acme", "opt-token")),
        (("http://127.0.0.1:8765", None, None), ENV, ("http://127.0.0.1:8765", "envfactory", "env-token")),
        (("  https://h  ", " acme ", " tok "), {}, ("https://h", "acme", "tok")),
        (("", "", ""), ENV, ("https://env.example.com", "envfactory", "env-token")),
    ],
)
def test_precedence(options, env, expected) -> None:
    server, factory, token = options
    conn = resolve_connection(server, factory, token, None, env)
    assert (conn.server, conn.factory, conn.token) == expected
    assert conn.token not in repr(conn)


@pytest.mark.parametrize(
    ("env", "message", "hint"),
    [
        ({ENV_TOKEN: "t", ENV_FACTORY: "f"}, "no factory server given", ENV_SERVER),
        ({ENV_SERVER: "https://h", ENV_TOKEN: "t"}, "no factory name given", ENV_FACTORY),
        ({ENV_SERVER: "https://h", ENV_FACTORY: "f"}, "no API token given", ENV_TOKEN),
        ({ENV_SERVER: "https://h", ENV_FACTORY: "f", ENV_TOKEN: "   "}, "no API token given", "--token-file"),
    ],
)
def test_missing_values_are_usage_errors_with_hints(env, message, hint) -> None:
    with pytest.raises(UsageError) as info:
        resolve_connection(None, None, None, None, env)
    assert info.value.message == message
    assert hint in info.value.hint
    assert info.value.exit_code == 2


def test_token_file_wins_over_environment(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("file-token\n")
    assert resolve_token(None, path, {ENV_TOKEN: "env-token"}) == "file-token"


@pytest.mark.parametrize(
    ("content", "fragment"),
    [(b"", "is empty"), (b"\n\n", "is empty"), (b"a\nb\n", "more than one line"), (b"\xff\xfe", "not ASCII")],
)
def test_bad_token_files(tmp_path: Path, content: bytes, fragment: str) -> None:
    path = tmp_path / "token"
    path.write_bytes(content)
    with pytest.raises(UsageError, match=fragment):
        resolve_token(None, path, {})


def test_token_file_missing_or_huge(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        resolve_token(None, tmp_path / "nope", {})
    big = tmp_path / "big"
    big.write_bytes(b"x" * 100_000)
    with pytest.raises(UsageError, match="more than"):
        resolve_token(None, big, {})


def test_token_and_token_file_together_refused(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("x")
    with pytest.raises(UsageError, match="not both"):
        resolve_token("y", path, {})


def test_bad_values_from_environment_are_checked() -> None:
    with pytest.raises(UsageError, match="must start with https://"):
        resolve_connection(None, None, None, None, {**ENV, ENV_SERVER: "ftp://x"})
    with pytest.raises(UsageError, match="printable ASCII"):
        resolve_connection(None, None, None, None, {**ENV, ENV_TOKEN: "a b"})
    with pytest.raises(UsageError, match="factory name"):
        resolve_connection(None, None, None, None, {**ENV, ENV_FACTORY: "../x"})
