"""``tuf-online show-root`` against the sandbox: table, --json, options, and clean failures."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from appliance.core.errors import InputFormatError, RemoteError, UsageError, VerificationError
from appliance.core.metadata import Root
from online.commands import showroot

REPO_ROOT = Path(__file__).resolve().parents[2]


def cli_app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _group() -> None:
        """test group"""

    showroot.register(app)
    return app


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch) -> None:
    for name in ("TUF_ONLINE_SERVER", "TUF_ONLINE_TOKEN", "TUF_ONLINE_FACTORY"):
        monkeypatch.delenv(name, raising=False)


def show(handle, *args: str, env: dict[str, str] | None = None):
    base = ["show-root", "--server", handle.url, "--factory", handle.factory, "--token-file", str(handle.token_file)]
    return CliRunner().invoke(cli_app(), [*base, *args], env={"COLUMNS": "200", **(env or {})})


def cells(row: str) -> list[str]:
    # Plain fixed-width table: columns are separated by at least two spaces.
    return re.split(r"\s{2,}", row.strip())


def test_table(sandbox_server) -> None:
    result = show(sandbox_server)
    assert result.exit_code == 0, result.output
    root = sandbox_server.ci_root
    lines = [line.rstrip() for line in result.output.splitlines()]
    assert lines[0] == f"acme CI root: v1, expires {root.meta.expires}"
    for role in ("root", "targets", "snapshot", "timestamp"):
        (keyid,) = root.meta.roles[role].keyids
        row = next(line for line in lines if keyid[:16] in line)
        assert keyid not in row  # a short id in the table, never a whole one cut mid-id
        assert cells(row)[:2] == [role, "1"]
        assert "ED25519" in row and "256" in row
    assert f"signed by: {sandbox_server.root_key.keyid[:16]}" in result.output
    assert "root signatures: 1 of 1 required, by its own root keys: OK" in result.output


def test_table_production_with_two_targets_keys(sandbox_server_targets) -> None:
    result = show(sandbox_server_targets, "--production")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("acme production root: v2, expires ")
    online, offline = sandbox_server_targets.prod_root.meta.roles["targets"].keyids
    row = next(line for line in result.output.splitlines() if online[:16] in line)
    assert cells(row)[:2] == ["targets", "2"]
    assert offline[:16] in result.output and offline not in result.output
    full = show(sandbox_server_targets, "--production", "--full-ids", env={"COLUMNS": "80"})
    assert f"\n  {offline}\n" in full.output and f"\n  {online}\n" in full.output


@pytest.mark.parametrize(
    ("args", "version", "threshold"),
    [((), 2, 1), (("--production",), 2, 2), (("--version", "1"), 1, 1), (("--production", "--version", "1"), 1, 1)],
)
def test_json(sandbox_server_targets, args, version, threshold) -> None:
    result = show(sandbox_server_targets, "--json", *args)
    assert result.exit_code == 0, result.output
    parsed = json.loads(result.output)
    production = "--production" in args
    chain = sandbox_server_targets.data.prod_roots if production else sandbox_server_targets.data.ci_roots
    assert parsed == chain[version - 1].to_dict()
    assert parsed["signed"]["roles"]["targets"]["threshold"] == threshold
    assert result.output.startswith('{\n  "signatures": [')


def test_environment_and_token_option(sandbox_server) -> None:
    env = {
        "TUF_ONLINE_SERVER": sandbox_server.url,
        "TUF_ONLINE_FACTORY": "acme",
        "TUF_ONLINE_TOKEN": sandbox_server.token,
    }
    result = CliRunner().invoke(cli_app(), ["show-root", "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["signed"]["version"] == 1
    result = CliRunner().invoke(
        cli_app(),
        ["show-root", "--server", sandbox_server.url, "--factory", "acme", "--token", sandbox_server.token, "--json"],
    )
    assert result.exit_code == 0, result.output


def _tamper(handle, version: int, data: bytes) -> None:
    path = handle.state_dir / "factories" / "acme" / "ci" / f"{version}.root.json"
    path.write_bytes(data)


def test_root_not_signed_by_its_own_keys_is_refused(sandbox_server) -> None:
    doc = sandbox_server.ci_root.to_dict()
    doc["signatures"] = []
    _tamper(sandbox_server, 1, json.dumps(doc).encode())
    result = show(sandbox_server)
    assert isinstance(result.exception, VerificationError)
    assert "not signed by its own root keys: root: 0 of 1" in result.exception.message
    assert result.output == ""


def test_server_sending_another_version_is_refused(sandbox_server) -> None:
    _tamper(sandbox_server, 2, sandbox_server.ci_root.to_bytes())
    result = show(sandbox_server, "--version", "2", "--json")
    assert isinstance(result.exception, VerificationError)
    assert "asked for CI root version 2 but the server sent version 1" in result.exception.message


def test_malformed_root_is_refused(sandbox_server) -> None:
    _tamper(sandbox_server, 1, b'{"signed": {"_type": "Root", "version": 1.5}, "signatures": []}')
    result = show(sandbox_server, "--json")
    assert isinstance(result.exception, InputFormatError)
    assert result.exception.exit_code == 3
    assert "floating point" in result.exception.message
    assert result.output == ""


def test_missing_version_and_missing_server(sandbox_server) -> None:
    result = show(sandbox_server, "--version", "5")
    assert isinstance(result.exception, RemoteError)
    assert "HTTP 404" in result.exception.message
    result = CliRunner().invoke(cli_app(), ["show-root", "--factory", "acme", "--token", "x"])
    assert isinstance(result.exception, UsageError)
    assert result.exception.message == "no factory server given"


def _run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TUF_ONLINE_")}
    return subprocess.run(
        [sys.executable, "-m", "online", *args],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={**clean, **(env or {})},
        timeout=60,
    )


def test_golden_wrong_token_message(sandbox_server, tmp_path) -> None:
    token_file = tmp_path / "wrong-token"
    token_file.write_text("not-the-token\n")
    out = _run_cli("show-root", "--server", sandbox_server.url, "--factory", "acme", "--token-file", str(token_file))
    assert out.returncode == 8
    assert out.stdout == ""
    assert out.stderr == (
        "error: fetching CI root of factory acme failed: HTTP 401 Unauthorized: "
        "the OSF-TOKEN token is not valid for factory acme\n"
        "hint: Check the API token (--token, --token-file or TUF_ONLINE_TOKEN) and that it may access this factory.\n"
    )


def test_golden_unreachable_server_message() -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = _run_cli("show-root", "--server", f"http://127.0.0.1:{port}", "--factory", "acme", "--token", "x")
    assert out.returncode == 8
    assert out.stderr == (
        f"error: fetching CI root of factory acme: cannot reach 127.0.0.1:{port}: connection refused\n"
        "hint: Check the server URL and the network; for the sandbox, is `tuf-online sandbox serve` running?\n"
    )


def test_end_to_end_cli_create_serve_show(tmp_path) -> None:
    """The documented flow with real processes: create-factory, serve, show-root."""
    state, keys = tmp_path / "state", tmp_path / "offline-creds.tgz"
    created = _run_cli(
        "sandbox", "create-factory", "--state-dir", str(state), "--factory", "demo", "--keys-out", str(keys),
        "--token", "demo-token",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    serve = subprocess.Popen(
        [sys.executable, "-m", "online", "sandbox", "serve", "--state-dir", str(state), "--port", "0", "--no-log"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert serve.stdout is not None
        url = serve.stdout.readline().split(" on ", 1)[1].split(" ", 1)[0]
        env = {
            "TUF_ONLINE_SERVER": url,
            "TUF_ONLINE_FACTORY": "demo",
            "TUF_ONLINE_TOKEN": "demo-token",
            "COLUMNS": "200",
        }
        shown = _run_cli("show-root", "--production", env=env)
        assert shown.returncode == 0, shown.stderr
        assert shown.stdout.startswith("demo production root: v1")
        as_json = _run_cli("show-root", "--json", env=env)
        assert Root.from_bytes(as_json.stdout.encode()).version == 1
    finally:
        serve.terminate()
        serve.wait(timeout=20)
