"""online.client.HttpFactoryClient: endpoints, and how every failure maps to RemoteError."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from appliance.core.errors import RemoteError, UsageError
from appliance.core.keys import parse_public_key_file
from appliance.core.metadata import Envelope, Root
from online.client import (
    HINTS,
    PROD_OUT_OF_SYNC_HINT,
    SERVER_ERROR_HINT,
    HttpFactoryClient,
    HTTPStatusError,
    check_server_url,
)
from tests.helpers_sandbox import next_root

NEW_ROOT_SEED = bytes([0x71]) * 32


# --- a canned HTTP server for answers the sandbox never gives -----------------------------


@dataclass
class Canned:
    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=dict)
    seen: list[dict[str, str]] = field(default_factory=list)


@contextmanager
def canned_server(canned: Canned) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            canned.seen.append({k.lower(): v for k, v in self.headers.items()} | {":path": self.path})
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            self.send_response(canned.status)
            for name, value in canned.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(canned.body)))
            self.end_headers()
            self.wfile.write(canned.body)

        do_GET = do_POST = _answer

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


# --- against the sandbox ---------------------------------------------------------------------


def test_endpoints(sandbox_server_targets) -> None:
    client = sandbox_server_targets.client()
    assert Root.from_bytes(client.get_root()).version == 2
    assert Root.from_bytes(client.get_root(version=1)).version == 1
    prod = Root.from_bytes(client.get_root(production=True))
    assert prod.meta.roles["targets"].threshold == 2
    assert Root.from_bytes(client.get_root(production=True, version=1)).meta.roles["targets"].threshold == 1
    key = parse_public_key_file(client.get_ci_targets_key())
    assert key.keyid == sandbox_server_targets.data.online_keys["targets"].keyid
    assert Envelope.from_bytes(client.get_targets()).type == "Targets"


def test_post_root_and_generic_request(sandbox_server) -> None:
    from appliance.core.privatekeys import PrivateKey

    client = sandbox_server.client()
    new_key = PrivateKey.from_ed25519_seed(NEW_ROOT_SEED)
    new = next_root(sandbox_server.ci_root, signers=[sandbox_server.root_key, new_key], root_keys=[new_key])
    client.post_root(new.to_bytes())
    client.post_root(new.to_bytes(), production=True)
    response = client.request("GET", client.repo_path("2.root.json"), query={"production": "1"})
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/json"
    assert Root.from_bytes(response.body).to_dict() == new.to_dict()


@dataclass(frozen=True)
class StatusCase:
    name: str
    status: int
    code: str
    message: str  # fragment of the RemoteError message
    hint: str  # fragment of the hint


def _wrong_token(handle):
    HttpFactoryClient(handle.url, "wrong-token", "acme").get_root()


def _unknown_factory(handle):
    HttpFactoryClient(handle.url, handle.token, "nosuch").get_root()


def _unknown_version(handle):
    handle.client().get_root(production=True, version=9)


def _version_conflict(handle):
    handle.client().post_root(handle.ci_root.to_bytes())


def _prod_out_of_sync(handle):
    client = handle.client()
    v2 = next_root(handle.ci_root, signers=[handle.root_key])
    client.post_root(v2.to_bytes())
    client.post_root(next_root(v2, signers=[handle.root_key]).to_bytes())


def _prod_first(handle):
    handle.client().post_root(next_root(handle.ci_root, signers=[handle.root_key]).to_bytes(), production=True)


def _unsigned(handle):
    handle.client().post_root(next_root(handle.ci_root, signers=[]).to_bytes())


def _bad_json(handle):
    handle.client().post_root(b'{"a": 1, "a": 2}')


def _fault(handle):
    handle.server.inject_faults(fail_prod_uploads=1)
    client = handle.client()
    v2 = next_root(handle.ci_root, signers=[handle.root_key])
    client.post_root(v2.to_bytes())
    client.post_root(v2.to_bytes(), production=True)


STATUS_CASES = [
    (_wrong_token, StatusCase("401", 401, "unauthorized", "HTTP 401 Unauthorized: the OSF-TOKEN token", "API token")),
    (_unknown_factory, StatusCase("404 factory", 404, "no-such-factory", "'nosuch' does not exist", "factory name")),
    (_unknown_version, StatusCase("404 version", 404, "no-such-version", "no production root version 9", "version")),
    (_version_conflict, StatusCase("409 version", 409, "version-conflict", "expected version 2", HINTS[409])),
    (_prod_out_of_sync, StatusCase("409 sync", 409, "prod-out-of-sync", "out of sync", PROD_OUT_OF_SYNC_HINT)),
    (_prod_first, StatusCase("409 prod first", 409, "ci-root-missing", "before CI root", "CI root of this version")),
    (_unsigned, StatusCase("422", 422, "verification-failed", "old root key", "signatures")),
    (_bad_json, StatusCase("400", 400, "bad-json", "duplicate key", "malformed")),
    (_fault, StatusCase("503", 503, "unavailable", "injected fault", SERVER_ERROR_HINT)),
]


@pytest.mark.parametrize(("action", "case"), STATUS_CASES, ids=[c.name for _, c in STATUS_CASES])
def test_status_errors_map_to_remote_error(sandbox_server, action, case: StatusCase) -> None:
    with pytest.raises(HTTPStatusError) as info:
        action(sandbox_server)
    err = info.value
    assert isinstance(err, RemoteError)
    assert err.exit_code == 8
    assert err.status == case.status
    assert err.code == case.code
    assert case.message in err.message
    assert case.hint in err.hint
    assert sandbox_server.token not in err.message + err.hint


def test_connection_refused() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = HttpFactoryClient(f"http://127.0.0.1:{port}", "t0ken", "acme", timeout=5)
    with pytest.raises(RemoteError) as info:
        client.get_root()
    assert info.value.message == f"fetching CI root of factory acme: cannot reach 127.0.0.1:{port}: connection refused"
    assert "sandbox serve" in info.value.hint


def test_timeout() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)  # accepts into the backlog, never answers
        client = HttpFactoryClient(f"http://127.0.0.1:{silent.getsockname()[1]}", "t0ken", "acme", timeout=0.3)
        with pytest.raises(RemoteError, match=r"no answer within 0.3 s"):
            client.get_root()


def test_oversize_answer_refused(sandbox_server) -> None:
    client = sandbox_server.client(max_response_bytes=100)
    with pytest.raises(RemoteError, match="more than the 100 accepted"):
        client.get_root()


def test_oversize_answer_without_length_refused() -> None:
    canned = Canned(body=b"x" * 5000)
    with canned_server(canned) as url:
        client = HttpFactoryClient(url, "t0ken", "acme", max_response_bytes=1000)
        with pytest.raises(RemoteError, match="more than"):
            client.get_targets()


def test_redirect_is_not_followed_and_token_stays_home() -> None:
    target = Canned()
    with canned_server(target) as elsewhere:
        redirect = Canned(status=302, body=b"", headers={"Location": elsewhere + "/steal"})
        with canned_server(redirect) as url:
            with pytest.raises(RemoteError, match="redirected to .*/steal; redirects are not followed"):
                HttpFactoryClient(url, "t0ken", "acme").get_root()
    assert redirect.seen[0]["osf-token"] == "t0ken"
    assert target.seen == []


def test_request_headers_and_paths() -> None:
    canned = Canned(body=b'{"signed": {}}')
    with canned_server(canned) as url:
        client = HttpFactoryClient(url + "/", "t0ken", "acme")
        client.get_root(production=True, version=3)
        client.get_ci_targets_key()
        client.post_root(b"{}", production=True)
    paths = [seen[":path"] for seen in canned.seen]
    assert paths == [
        "/ota/repo/acme/api/v1/user_repo/3.root.json?production=1",
        "/ota/factories/acme/ci-targets.pub",
        "/ota/repo/acme/api/v1/user_repo/root?production=1",
    ]
    assert all(seen["osf-token"] == "t0ken" for seen in canned.seen)
    assert canned.seen[2]["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (500, b"<html>boom</html>", "HTTP 500 Internal Server Error: <html>boom</html>"),
        (502, b"", "HTTP 502 Bad Gateway: (no message)"),
        (500, b'{"error": "x"}', "HTTP 500 Internal Server Error: x"),
        (400, b'{"message": "nope", "message": "dup"}', 'HTTP 400 Bad Request: {"message": "nope", "message": "dup"}'),
        (418, b"\x00\x01tea", "HTTP 418 I'm a Teapot:"),
    ],
)
def test_non_sandbox_error_bodies(status, body, message) -> None:
    with canned_server(Canned(status=status, body=body)) as url:
        with pytest.raises(HTTPStatusError) as info:
            HttpFactoryClient(url, "t0ken", "acme").get_targets()
    assert message in info.value.message
    assert "\x00" not in info.value.message
    if status >= 500:
        assert info.value.hint == SERVER_ERROR_HINT


def test_real_server_409_on_ci_upload_means_out_of_sync() -> None:
    """fioctl reads any 409 on a CI root upload as "production root out of sync"."""
    with canned_server(Canned(status=409, body=b"conflict")) as url:
        with pytest.raises(HTTPStatusError) as info:
            HttpFactoryClient(url, "t0ken", "acme").post_root(b"{}")
    assert info.value.hint == PROD_OUT_OF_SYNC_HINT


def test_loopback_ignores_proxy_environment(sandbox_server, monkeypatch) -> None:
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    assert Root.from_bytes(sandbox_server.client().get_root()).version == 1


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com",
        "file:///etc/passwd",
        "example.com",
        "http://",
        "https://user:pw@example.com",
        "https://example.com/?x=1",
        "https://example.com/#f",
        "http://example.com:99999",
    ],
)
def test_bad_server_urls_refused(url) -> None:
    with pytest.raises(UsageError):
        HttpFactoryClient(url, "t0ken", "acme")


@pytest.mark.parametrize(
    ("url", "normal"),
    [("https://api.foundries.io/", "https://api.foundries.io"), ("http://127.0.0.1:8765", "http://127.0.0.1:8765")],
)
def test_server_url_normalised(url, normal) -> None:
    assert check_server_url(url) == normal


@pytest.mark.parametrize("token", ["", "has space", "line\nbreak", "tab\t", "caf\u00e9", "x\r\nOSF-TOKEN: y"])
def test_bad_tokens_refused(token) -> None:
    with pytest.raises(UsageError, match="printable ASCII"):
        HttpFactoryClient("http://127.0.0.1:1", token, "acme")


@pytest.mark.parametrize("factory", ["", "a/b", "..", "acme?x", "acme\n", "%2e%2e"])
def test_bad_factory_names_refused(factory) -> None:
    with pytest.raises(UsageError, match="factory name"):
        HttpFactoryClient("http://127.0.0.1:1", "t0ken", factory)


def test_token_never_in_repr() -> None:
    client = HttpFactoryClient("http://127.0.0.1:1", "sekrit-token", "acme")
    assert "sekrit-token" not in repr(client)
    with pytest.raises(RemoteError) as info:
        client.get_root()
    assert "sekrit-token" not in info.value.message + info.value.hint
