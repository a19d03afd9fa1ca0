"""The sandbox factory server's read endpoints, authentication and routing, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from appliance.core.errors import UsageError
from appliance.core.keys import parse_public_key_file
from appliance.core.metadata import Envelope, Root
from appliance.core.verify import check_role, verify_self_signed
from online.sandbox.server import SandboxServer, loopback_host
from tests.helpers_sandbox import call, repo

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_get_current_ci_and_production_root(sandbox_server) -> None:
    for query, expected in (("", sandbox_server.ci_root), ("?production=1", sandbox_server.prod_root)):
        answer = call(sandbox_server.url, "GET", repo("acme", "root.json") + query, token=sandbox_server.token)
        assert answer.status == 200
        assert answer.headers["content-type"] == "application/json"
        root = Root.from_bytes(answer.body)
        assert root.to_dict() == expected.to_dict()
        assert verify_self_signed(root).met


@pytest.mark.parametrize("query", ["", "?production=1"])
def test_get_root_by_version(sandbox_server_targets, query) -> None:
    handle = sandbox_server_targets
    for version in (1, 2):
        answer = call(handle.url, "GET", repo("acme", f"{version}.root.json") + query, token=handle.token)
        assert answer.status == 200
        assert Root.from_bytes(answer.body).version == version
    current = Root.from_bytes(call(handle.url, "GET", repo("acme", "root.json") + query, token=handle.token).body)
    assert current.version == 2
    expected_threshold = 2 if query else 1
    assert current.meta.roles["targets"].threshold == expected_threshold


def test_ci_targets_key_is_the_online_targets_key(sandbox_server) -> None:
    answer = call(sandbox_server.url, "GET", "/ota/factories/acme/ci-targets.pub", token=sandbox_server.token)
    assert answer.status == 200
    key = parse_public_key_file(answer.body)
    targets_ids = sandbox_server.ci_root.meta.roles["targets"].keyids
    assert targets_ids == (key.keyid,)
    assert set(json.loads(answer.body)) == {"keytype", "keyval"}
    assert set(json.loads(answer.body)["keyval"]) == {"public"}


def test_targets_json_is_signed_by_the_online_targets_key(sandbox_server) -> None:
    answer = call(sandbox_server.url, "GET", repo("acme", "targets.json"), token=sandbox_server.token)
    assert answer.status == 200
    envelope = Envelope.from_bytes(answer.body)
    assert envelope.type == "Targets"
    assert envelope.version == 1
    assert envelope.signed["targets"] == {}
    assert check_role(envelope, sandbox_server.ci_root, "targets").met
    assert not check_role(envelope, sandbox_server.ci_root, "root").met


ENDPOINTS = [
    ("GET", repo("acme", "root.json")),
    ("GET", repo("acme", "1.root.json?production=1")),
    ("GET", repo("acme", "targets.json")),
    ("GET", "/ota/factories/acme/ci-targets.pub"),
    ("POST", repo("acme", "root")),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@pytest.mark.parametrize(
    ("token", "fragment"),
    [(None, "no OSF-TOKEN header"), ("wrong", "not valid for factory acme"), ("", "not valid for factory acme")],
)
def test_missing_or_wrong_token_is_401(sandbox_server, method, path, token, fragment) -> None:
    body = sandbox_server.ci_root.to_bytes() if method == "POST" else None
    answer = call(sandbox_server.url, method, path, token=token, body=body)
    assert answer.status == 401
    assert answer.json() == {"error": "unauthorized", "message": answer.json()["message"]}
    assert fragment in answer.json()["message"]
    assert sandbox_server.token not in answer.body.decode()


def test_token_of_another_factory_is_refused(make_sandbox, sandbox_server) -> None:
    other = make_sandbox("beta", seed=7)
    assert other.token != sandbox_server.token
    assert call(sandbox_server.url, "GET", repo("beta", "root.json"), token=sandbox_server.token).status == 401
    assert call(sandbox_server.url, "GET", repo("beta", "root.json"), token=other.token).status == 200


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/", "no-such-endpoint"),
        ("/ota/repo/acme/api/v1/user_repo/snapshot.json", "no-such-endpoint"),
        ("/ota/repo/acme/api/v1/user_repo/root.json/x", "no-such-endpoint"),
        ("/ota/repo/acme/api/v2/user_repo/root.json", "no-such-endpoint"),
        ("/ota/repo/nosuch/api/v1/user_repo/root.json", "no-such-factory"),
        ("/ota/repo/..%2Facme/api/v1/user_repo/root.json", "no-such-factory"),
        ("/ota/factories/nosuch/ci-targets.pub", "no-such-factory"),
        ("/ota/repo/acme/api/v1/user_repo/2.root.json", "no-such-version"),
        ("/ota/repo/acme/api/v1/user_repo/0.root.json", "no-such-version"),
        ("/ota/repo/acme/api/v1/user_repo/2.root.json?production=1", "no-such-version"),
    ],
)
def test_not_found(sandbox_server, path, code) -> None:
    answer = call(sandbox_server.url, "GET", path, token=sandbox_server.token)
    assert answer.status == 404
    assert answer.json()["error"] == code
    assert answer.json()["message"]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", repo("acme", "root.json"), "GET"),
        ("PUT", repo("acme", "root.json"), "GET"),
        ("POST", repo("acme", "root.json"), "GET"),
        ("GET", repo("acme", "root"), "POST"),
        ("PATCH", repo("acme", "root"), "POST"),
        ("POST", "/ota/factories/acme/ci-targets.pub", "GET"),
    ],
)
def test_wrong_method_is_405_with_allow(sandbox_server, method, path, allowed) -> None:
    answer = call(sandbox_server.url, method, path, token=sandbox_server.token, body=b"{}")
    assert answer.status == 405
    assert answer.headers["allow"] == allowed
    assert answer.json()["error"] == "method-not-allowed"


def test_unknown_method_gets_json_error(sandbox_server) -> None:
    answer = call(sandbox_server.url, "OPTIONS", repo("acme", "root.json"))
    assert answer.status == 501
    assert answer.json()["error"] == "http-501"


@pytest.mark.parametrize("host", ["127.0.0.1", "127.3.4.5", "::1", "[::1]", "localhost"])
def test_loopback_hosts_accepted(host) -> None:
    address, _family = loopback_host(host)
    assert address in ("::1", "127.0.0.1", "127.3.4.5")


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "10.0.0.1", "example.com", "", "128.0.0.1"])
def test_non_loopback_hosts_refused(tmp_path, host) -> None:
    with pytest.raises(UsageError, match="only binds loopback"):
        SandboxServer(tmp_path, host=host)


def test_ipv6_loopback_serves(sandbox_state) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        server = SandboxServer(sandbox_state.state_dir, host="::1")
        server.start()
    except UsageError:
        pytest.skip("cannot bind ::1 here")
    try:
        assert server.url.startswith("http://[::1]:")
        conn = socket.create_connection(("::1", server.port), timeout=5)
        conn.sendall(f"GET {repo('acme', 'root.json')} HTTP/1.0\r\nOSF-TOKEN: {sandbox_state.token}\r\n\r\n".encode())
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
        conn.close()
        assert data.startswith(b"HTTP/1.0 200")
    finally:
        server.stop()


def test_port_in_use_is_a_usage_error(sandbox_server) -> None:
    with pytest.raises(UsageError, match="cannot listen"):
        SandboxServer(sandbox_server.state_dir, port=sandbox_server.server.port).start()


def test_missing_state_dir_is_a_usage_error(tmp_path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        SandboxServer(tmp_path / "nope").start()


def test_concurrent_reads(sandbox_server) -> None:
    statuses: list[int] = []

    def fetch() -> None:
        statuses.append(call(sandbox_server.url, "GET", repo("acme", "root.json"), token=sandbox_server.token).status)

    threads = [threading.Thread(target=fetch) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 16


def test_server_stop_releases_port(sandbox_state) -> None:
    server = SandboxServer(sandbox_state.state_dir)
    url = server.start()
    server.stop()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=2)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_serve_command_prints_url_and_stops_cleanly(sandbox_state, sig) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "online",
            "sandbox",
            "serve",
            "--state-dir",
            str(sandbox_state.state_dir),
            "--port",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
        env=env,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("sandbox factory server listening on http://127.0.0.1:")
        assert "factories: acme" in first
        url = first.split(" on ", 1)[1].split(" ", 1)[0]
        answer = call(url, "GET", repo("acme", "root.json"), token=sandbox_state.token)
        assert answer.status == 200
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
    assert "stopped" in out
    assert '"GET /ota/repo/acme/api/v1/user_repo/root.json HTTP/1.1" 200' in err
    assert sandbox_state.token not in err
