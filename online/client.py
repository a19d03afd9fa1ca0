"""HTTP client for the Foundries API endpoints tuf-online uses (standard library urllib only).

Rules: only http(s) URLs; the ``OSF-TOKEN`` header is never forwarded on a
redirect (redirects are refused outright) and never appears in messages or
``repr``; responses are size-capped; every failure (HTTP status, refused
connection, timeout, oversize answer) becomes a ``RemoteError`` with the
server's own message and a hint.  Loopback servers are reached without any
proxy from the environment.
"""

from __future__ import annotations

import http.client
import ipaddress
import re
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from appliance.core.errors import HTTPStatusError, InputFormatError, RemoteError, UsageError
from appliance.core.factoryname import check_factory_name
from appliance.core.metadata import MAX_METADATA_BYTES
from appliance.core.strictjson import loads

from .api import TOKEN_HEADER
from .deadline import Watch, watched_handlers

DEFAULT_TIMEOUT = 30.0
MAX_RESPONSE_BYTES = MAX_METADATA_BYTES
MAX_ERROR_BODY_BYTES = 64 * 1024
MAX_KEY_BYTES = 64 * 1024
USER_AGENT = "tuf-airgap/0.1"

_TOKEN = re.compile(r"^[\x21-\x7e]{1,4096}\Z")  # printable ASCII, no spaces: safe as one header value

HINTS: Mapping[int, str] = {
    400: "The server refused the request as malformed; do not retry it unchanged.",
    401: "Check the API token (--token, --token-file or TUF_ONLINE_TOKEN) and that it may access this factory.",
    403: "The token is valid but lacks the permission for this operation; use a token with the right scopes.",
    404: "Check the factory name (--factory or TUF_ONLINE_FACTORY), the server URL, and that the version exists.",
    405: "The server does not offer this operation at this URL; check the server URL.",
    409: "The factory's roots changed or are out of sync; fetch the current roots and start again.",
    411: "The server wants a Content-Length; this is a client bug, please report it.",
    413: "The upload is larger than the server accepts.",
    422: "The server refused the signatures or the expiry of the metadata; do not retry the same file.",
}
SERVER_ERROR_HINT = "The server failed or is unavailable; the operation can be retried later."
PROD_OUT_OF_SYNC_HINT = (
    "The production root is out of sync with the CI root: upload the production root of the current "
    "version first, then retry."
)
CODE_HINTS: Mapping[str, str] = {
    "prod-out-of-sync": PROD_OUT_OF_SYNC_HINT,
    "ci-root-missing": "Upload the CI root of this version first, then the production root.",
}


def check_server_url(url: str, *, insecure_http: bool = False) -> str:
    """Normalise a server base URL (no trailing slash); refuse anything but plain http(s).

    ``http://`` is for loopback (the sandbox) unless ``insecure_http``: elsewhere the API
    token would cross the network in clear."""
    split = urlsplit(url.strip())
    if split.scheme not in ("http", "https"):
        raise UsageError(
            f"server URL {url!r} must start with https:// or http://",
            hint="For example --server https://api.foundries.io",
        )
    if not split.hostname:
        raise UsageError(f"server URL {url!r} has no host name")
    if split.username is not None or split.password is not None:
        raise UsageError("server URL must not carry credentials", hint="Pass the token with --token-file instead.")
    if split.query or split.fragment:
        raise UsageError(f"server URL {url!r} must not have a query or fragment")
    try:
        split.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise UsageError(f"server URL {url!r} has an invalid port") from None
    if split.scheme == "http" and not insecure_http and not _is_loopback(split.hostname):
        raise UsageError(
            f"server URL {url!r} uses http:// for a host that is not loopback; the API token would travel in clear",
            hint="Use https://, or pass --insecure-http (or set TUF_ONLINE_INSECURE_HTTP=1) on a network you trust.",
        )
    return url.strip().rstrip("/")


def check_token(token: str) -> str:
    if not _TOKEN.match(token):
        raise UsageError(
            "the API token must be printable ASCII without spaces",
            hint="Copy the token again; a token file may end with one newline.",
        )
    return token


def check_factory(name: str) -> str:
    return check_factory_name(name, error=UsageError)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Turn every redirect into an error so the token is never sent to another URL."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes = field(repr=False)


def _server_message(body: bytes) -> tuple[str | None, str]:
    """The JSON error body's (code, message), or the start of a non-JSON body."""
    try:
        value = loads(body, max_bytes=MAX_ERROR_BODY_BYTES, what="error body")
    except InputFormatError:
        value = None
    if isinstance(value, dict):
        code = value.get("error") if isinstance(value.get("error"), str) else None
        message = value.get("message")
        if isinstance(message, str) and message:
            return code, message
        if code:
            return code, code
    text = body[:200].decode("utf-8", "replace").strip()
    printable = "".join(ch if ch.isprintable() else " " for ch in text)
    return None, printable or "(no message)"


class HttpFactoryClient:
    """Talks to ``server_url`` for ``factory`` with ``token``; see the module doc for the rules."""

    def __init__(
        self,
        server_url: str,
        token: str,
        factory: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        insecure_http: bool = False,
        total_deadline: float | None = None,
    ) -> None:
        self.server_url = check_server_url(server_url, insecure_http=insecure_http)
        self._token = check_token(token)
        self.factory = check_factory(factory)
        self.timeout = timeout  # seconds for one whole request, however slowly the server answers
        # time.monotonic() by which everything this client does must be over (one import, say)
        self.total_deadline = total_deadline
        self.max_response_bytes = max_response_bytes
        self._watch: Watch | None = None
        host = urlsplit(self.server_url).hostname or ""
        handlers: list[urllib.request.BaseHandler] = [_NoRedirect(), *watched_handlers(lambda: self._watch)]
        if _is_loopback(host):
            handlers.append(urllib.request.ProxyHandler({}))
        self._opener = urllib.request.build_opener(*handlers)

    def __repr__(self) -> str:
        return f"HttpFactoryClient(server_url={self.server_url!r}, factory={self.factory!r})"

    # --- generic ---------------------------------------------------------------------

    def url(self, path: str, query: Mapping[str, str] | None = None) -> str:
        if not path.startswith("/"):
            raise ValueError("path must start with /")
        return self.server_url + path + ("?" + urlencode(dict(query)) if query else "")

    def repo_path(self, name: str) -> str:
        """``/ota/repo/<factory>/api/v1/user_repo/<name>`` (the TUF repository endpoints)."""
        return f"/ota/repo/{quote(self.factory, safe='')}/api/v1/user_repo/{name}"

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        body: bytes | None = None,
        content_type: str = "application/json",
        max_bytes: int | None = None,
        what: str | None = None,
        hints: Mapping[int | str, str] | None = None,
    ) -> Response:
        """Send one request; return a 2xx response or raise RemoteError (HTTPStatusError for statuses).

        ``what`` names the operation in error messages.  ``hints`` maps the server's
        JSON ``error`` codes (str) or HTTP statuses (int) to hints for this call;
        a code match beats a status match, and both beat the defaults.
        """
        url = self.url(path, query)
        label = what or f"{method} {path}"
        limit = self.max_response_bytes if max_bytes is None else max_bytes
        req = urllib.request.Request(url, data=body, method=method)  # noqa: S310 - scheme checked: http(s) only
        req.add_header("Accept", "application/json")
        req.add_header("User-Agent", USER_AGENT)
        req.add_unredirected_header(TOKEN_HEADER, self._token)
        if body is not None:
            req.add_header("Content-Type", content_type)
        seconds = self.timeout
        if self.total_deadline is not None:
            seconds = min(seconds, self.total_deadline - time.monotonic())
            if seconds <= 0:
                raise RemoteError(f"{label}: the time allowed for this operation is used up; nothing more was sent")
        watch = Watch(seconds)
        self._watch = watch
        try:
            with watch, self._opener.open(req, timeout=seconds) as resp:
                data = self._read(resp, limit, label)
                if watch.expired:
                    raise self._deadline_error(label, watch)
                return Response(resp.status, dict(resp.headers.items()), data)
        except RemoteError:
            raise
        except urllib.error.HTTPError as exc:
            if watch.expired:
                exc.close()
                raise self._deadline_error(label, watch) from None
            try:
                error = self._status_error(exc, label, hints or {})
            finally:
                exc.close()
            # Not chained: the urllib exception holds the request, whose headers carry the token.
            raise error from None
        except urllib.error.URLError as exc:
            # Not chained: the urllib exception holds the request, whose headers carry the token.
            if watch.expired:
                raise self._deadline_error(label, watch) from None
            raise self._connection_error(exc.reason, label) from None
        except (OSError, http.client.HTTPException, ValueError) as exc:
            # Not chained: the urllib exception holds the request, whose headers carry the token.
            if watch.expired:
                raise self._deadline_error(label, watch) from None
            raise self._connection_error(exc, label) from None
        finally:
            self._watch = None

    def _deadline_error(self, label: str, watch: Watch) -> RemoteError:
        where = urlsplit(self.server_url).netloc
        return RemoteError(
            f"{label}: no answer within {watch.seconds:g} s from {where} (the whole request, however slowly sent)",
            hint="The server or the network is too slow or stalled; the operation can be retried.",
        )

    def _read(self, resp: Any, limit: int, label: str) -> bytes:
        declared = resp.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise RemoteError(f"{label}: the server's answer is {declared} bytes, more than the {limit} accepted")
        data: bytes = resp.read(limit + 1)
        if len(data) > limit:
            raise RemoteError(f"{label}: the server's answer is more than the {limit} bytes accepted")
        return data

    def _status_error(self, exc: urllib.error.HTTPError, label: str, hints: Mapping[int | str, str]) -> RemoteError:
        status = exc.code
        if 300 <= status < 400:
            location = exc.headers.get("Location", "?") if exc.headers else "?"
            return RemoteError(
                f"{label}: the server redirected to {location}; redirects are not followed",
                hint="Use the final server URL as --server (the token is never sent to a redirect target).",
            )
        try:
            body = exc.read(MAX_ERROR_BODY_BYTES + 1)
        except (OSError, http.client.HTTPException):
            body = b""
        code, message = _server_message(body[:MAX_ERROR_BODY_BYTES])
        reason = exc.reason if isinstance(exc.reason, str) else ""
        hint = (
            (hints.get(code) if code else None)
            or (CODE_HINTS.get(code) if code else None)
            or hints.get(status)
            or HINTS.get(status)
            or (SERVER_ERROR_HINT if status >= 500 else RemoteError.hint)
        )
        return HTTPStatusError(
            f"{label} failed: HTTP {status}{' ' + reason if reason else ''}: {message}",
            status=status,
            code=code,
            server_message=message,
            hint=hint,
        )

    def _connection_error(self, reason: object, label: str) -> RemoteError:
        where = urlsplit(self.server_url).netloc
        if isinstance(reason, TimeoutError):
            text = f"no answer within {self.timeout:g} s"
        elif isinstance(reason, ConnectionRefusedError):
            text = "connection refused"
        elif isinstance(reason, OSError) and reason.strerror:
            text = reason.strerror
        else:
            text = str(reason) or type(reason).__name__
        return RemoteError(
            f"{label}: cannot reach {where}: {text}",
            hint="Check the server URL and the network; for the sandbox, is `tuf-online sandbox serve` running?",
        )

    # --- Foundries endpoints -------------------------------------------------------------

    def get_root(self, production: bool = False, version: int | None = None) -> bytes:
        """The current (or ``version``) CI root, or the production root: raw bytes as served."""
        if version is not None and version < 1:
            raise UsageError("root version must be at least 1")
        name = f"{version}.root.json" if version is not None else "root.json"
        label = "production" if production else "CI"
        what = f"fetching {label} root{f' version {version}' if version else ''} of factory {self.factory}"
        query = {"production": "1"} if production else None
        return self.request("GET", self.repo_path(name), query=query, what=what).body

    def post_root(self, data: bytes, production: bool = False) -> None:
        """Upload a new CI (or production) root."""
        label = "production" if production else "CI"
        query = {"production": "1"} if production else None
        # fioctl reads any 409 on a CI root upload as "production root out of sync".
        hints: dict[int | str, str] = {} if production else {409: PROD_OUT_OF_SYNC_HINT, "version-conflict": HINTS[409]}
        self.request(
            "POST",
            self.repo_path("root"),
            query=query,
            body=data,
            what=f"uploading the {label} root of factory {self.factory}",
            hints=hints,
        )

    def get_ci_targets_key(self) -> bytes:
        """The online CI targets public key as a key file ``{"keytype":..,"keyval":{"public":..}}``."""
        path = f"/ota/factories/{quote(self.factory, safe='')}/ci-targets.pub"
        what = f"fetching the CI targets key of factory {self.factory}"
        return self.request("GET", path, max_bytes=MAX_KEY_BYTES, what=what).body

    def get_first_root_key(self) -> bytes:
        """A first-time factory's first root private key file (fioctl ``TufRootFirstKey``).  Secret."""
        path = f"/ota/factories/{quote(self.factory, safe='')}/first_root.sec"
        what = f"fetching the first root key of factory {self.factory}"
        return self.request("GET", path, max_bytes=MAX_KEY_BYTES, what=what).body

    def get_current_user(self) -> tuple[str, str]:
        """The token's user as (``polis-id``, ``name``) from ``users/self`` (fioctl ``UserAccessDetails``):
        recorded in x-changelog and x-key-owners."""
        path = f"/ota/factories/{quote(self.factory, safe='')}/users/self/"
        what = f"reading the current user of factory {self.factory}"
        body = self.request("GET", path, max_bytes=MAX_KEY_BYTES, what=what).body
        try:
            value = loads(body, max_bytes=MAX_KEY_BYTES, what="users/self answer")
        except InputFormatError as exc:
            raise RemoteError(f"{what}: {exc.message}") from None
        polis, name = (value.get("polis-id"), value.get("name", "")) if isinstance(value, dict) else (None, None)
        if not isinstance(polis, str) or not isinstance(name, str):
            raise RemoteError(f"{what}: the answer has no polis-id")
        return polis, name

    def get_targets(self) -> bytes:
        """The CI targets.json, signed by the online targets key."""
        what = f"fetching the CI targets.json of factory {self.factory}"
        return self.request("GET", self.repo_path("targets.json"), what=what).body
