"""The sandbox factory server: the Foundries API endpoints tuf-online uses, over HTTP on loopback.

``SandboxApp`` maps one request (method, target, token, body) to a ``Reply``;
``SandboxServer`` wraps it in the standard library's ThreadingHTTPServer, in a
background thread (tests, rehearsal) or in the foreground (``sandbox serve``).
Endpoints, checks and error codes are specified in bundle-spec.md §3.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
import socket
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from appliance.core.errors import AirgapError, InputFormatError, Refusal, UsageError
from appliance.core.keys import SignatureEntry, public_key_file
from appliance.core.metadata import Envelope, Root
from appliance.core.strictjson import dumps_compact
from appliance.core.targets import add_signatures
from appliance.core.timefmt import format_expires
from appliance.core.verify import check_role

from ..api import TOKEN_HEADER
from .rules import MAX_UPLOAD_BYTES, check_ci_upload, check_prod_upload
from .state import SandboxState, User
from .transactions import Transactions
from .waves import accept_wave, checked_signatures, ci_targets_of_version, publishable, resigned, rollout_options
from .wavestore import ACTIVE, CANCELED, COMPLETE, STATUSES, WaveStore

DEFAULT_PORT = 8765
REQUEST_TIMEOUT = 15.0
DISCARD_LIMIT = 64 * 1024 * 1024  # oversize bodies up to this are read and dropped so the 413 reaches the client

Clock = Callable[[], datetime]
Log = Callable[[str], None]

_REPO = r"^/ota/repo/(?P<factory>[^/]+)/api/v1/user_repo/"
_ROUTES: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(_REPO + r"root\.json\Z"), "GET", "root"),
    (re.compile(_REPO + r"(?P<version>[0-9]{1,9})\.root\.json\Z"), "GET", "root"),
    (re.compile(_REPO + r"root\Z"), "POST", "upload"),
    (re.compile(_REPO + r"targets\.json\Z"), "GET", "targets"),
    (re.compile(_REPO + r"root/updates\Z"), "GET", "tx-get"),
    (re.compile(_REPO + r"root/updates\Z"), "POST", "tx-init"),
    (re.compile(_REPO + r"root/updates\Z"), "PUT", "tx-put"),
    (re.compile(_REPO + r"root/updates/apply\Z"), "POST", "tx-apply"),
    (re.compile(_REPO + r"root/updates/cancel\Z"), "POST", "tx-cancel"),
    (re.compile(_REPO + r"root/updates/gen-online-keys\Z"), "POST", "tx-gen-online-keys"),
    (re.compile(r"^/ota/factories/(?P<factory>[^/]+)/users/self/\Z"), "GET", "user-self"),
    (re.compile(r"^/ota/factories/(?P<factory>[^/]+)/ci-targets\.pub\Z"), "GET", "ci-key"),
    (re.compile(r"^/ota/factories/(?P<factory>[^/]+)/prod-targets/\Z"), "GET", "prod-targets"),
    (re.compile(r"^/ota/factories/(?P<factory>[^/]+)/targets/\Z"), "GET", "ci-targets"),
    (re.compile(r"^/ota/factories/(?P<factory>[^/]+)/prod-targets/(?P<tag>[^/]+)/resign/\Z"), "POST", "targets-resign"),
    (re.compile(r"^/ota/factories/(?P<factory>[^/]+)/waves/\Z"), "POST", "wave-create"),
    (re.compile(r"^/ota/factories/(?P<factory>[^/]+)/waves/\Z"), "GET", "wave-list"),
    (re.compile(r"^/ota/factories/(?P<factory>[^/]+)/waves/(?P<wave>[^/]+)/\Z"), "GET", "wave"),
    (re.compile(r"^/ota/factories/(?P<factory>[^/]+)/waves/(?P<wave>[^/]+)/sign/\Z"), "POST", "wave-sign"),
    (re.compile(r"^/ota/factories/(?P<factory>[^/]+)/waves/(?P<wave>[^/]+)/rollout/\Z"), "POST", "wave-rollout"),
    (re.compile(r"^/ota/factories/(?P<factory>[^/]+)/waves/(?P<wave>[^/]+)/complete/\Z"), "POST", "wave-complete"),
    (re.compile(r"^/ota/factories/(?P<factory>[^/]+)/waves/(?P<wave>[^/]+)/cancel/\Z"), "POST", "wave-cancel"),
)
SANDBOX_USER = "sandbox-owner"  # who the sandbox records in change-meta and rollout history
_TRUE = frozenset({"1", "true", "yes"})


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


def json_reply(status: int, obj: object, headers: tuple[tuple[str, str], ...] = ()) -> Reply:
    return Reply(status, dumps_compact(obj) + b"\n", headers)


def refusal_reply(refusal: Refusal, headers: tuple[tuple[str, str], ...] = ()) -> Reply:
    return json_reply(refusal.status, refusal.body(), headers)


def error_reply(status: int, code: str, message: str, headers: tuple[tuple[str, str], ...] = ()) -> Reply:
    return json_reply(status, {"error": code, "message": message}, headers)


class SandboxApp:
    """Request handling against a state directory; thread-safe (one lock around every mutation)."""

    def __init__(self, state: SandboxState, clock: Clock = utc_now, log: Log | None = None) -> None:
        self.state = state
        self.clock = clock
        self.log = log
        self.lock = threading.Lock()

    def handle(self, method: str, target: str, token: str | None, body: bytes | Refusal) -> Reply:
        try:
            return self._handle(method, target, token, body)
        except Refusal as refusal:
            return refusal_reply(refusal)
        except AirgapError as exc:
            return error_reply(500, "internal", f"sandbox state problem: {exc.message}")
        except Exception:  # the server must answer, whatever went wrong
            if self.log is not None:
                self.log(traceback.format_exc())
            return error_reply(500, "internal", "internal sandbox error")

    def _handle(self, method: str, target: str, token: str | None, body: bytes | Refusal) -> Reply:
        split = urlsplit(target)
        path = split.path
        matched = [(m, allowed, kind) for pattern, allowed, kind in _ROUTES if (m := pattern.match(path))]
        if not matched:
            return error_reply(404, "no-such-endpoint", f"there is no endpoint {path}")
        found = next(((m, allowed, kind) for m, allowed, kind in matched if allowed == method), None)
        if found is None:
            allowed_methods = ", ".join(sorted({allowed for _, allowed, _ in matched}))
            return error_reply(
                405,
                "method-not-allowed",
                f"{method} is not allowed on {path}; allowed: {allowed_methods}",
                (("Allow", allowed_methods),),
            )
        match, _, kind = found
        factory = match.group("factory")
        if not self.state.has_factory(factory):
            return error_reply(404, "no-such-factory", f"factory {factory!r} does not exist")
        if token is None:
            return error_reply(401, "unauthorized", f"the request has no {TOKEN_HEADER} header")
        offered = token.encode("utf-8", "replace")
        user = next(
            (u for u in self.state.info(factory).all_users() if hmac.compare_digest(offered, u.token.encode("utf-8"))),
            None,
        )
        if user is None:
            return error_reply(401, "unauthorized", f"the {TOKEN_HEADER} token is not valid for factory {factory}")
        query = parse_qs(split.query, keep_blank_values=True)
        production = any(v.lower() in _TRUE for v in query.get("production", []))
        if kind == "root":
            version = match.groupdict().get("version")
            return self._get_root(factory, production, int(version) if version is not None else None)
        if kind == "targets":
            return Reply(200, self.state.targets_bytes(factory))
        if kind == "ci-key":
            key = self.state.online_key(factory, "targets")
            return Reply(200, public_key_file(key.public_key))
        if kind == "prod-targets":
            return self._production_targets(factory, query.get("tag", [""])[0])
        if kind == "ci-targets":
            return self._ci_targets(factory, query.get("version", [None])[0])
        if kind == "wave":
            show = any(v.lower() in _TRUE for v in query.get("show-targets", []))
            return self._get_wave(factory, match.group("wave"), show)
        if kind == "wave-list":
            return self._list_waves(factory, path, query)
        if kind == "user-self":
            return json_reply(200, {"polis-id": user.polis_id, "name": user.name, "role": "admin"})
        if kind == "tx-get":
            with self.lock:
                return json_reply(200, Transactions(self.state, factory, self.clock()).get())
        if isinstance(body, Refusal):
            return refusal_reply(body)
        if kind == "targets-resign":
            return self._resign_targets(factory, match.group("tag"), body)
        if kind.startswith("tx-"):
            return self._transaction(kind, factory, user, body)
        if kind == "wave-create":
            return self._create_wave(factory, body)
        if kind == "wave-sign":
            return self._sign_wave(factory, match.group("wave"), body)
        if kind == "wave-rollout":
            return self._rollout_wave(factory, match.group("wave"), body)
        if kind == "wave-complete":
            return self._finish_wave(factory, match.group("wave"), COMPLETE)
        if kind == "wave-cancel":
            return self._finish_wave(factory, match.group("wave"), CANCELED)
        return self._upload(factory, production, body)

    def _transaction(self, kind: str, factory: str, user: User, body: bytes) -> Reply:
        with self.lock:
            desk = Transactions(self.state, factory, self.clock())
            if kind == "tx-init":
                return json_reply(201, desk.init(user, body))
            if kind == "tx-put":
                return json_reply(200, desk.put(user, body))
            if kind == "tx-apply":
                return json_reply(200, desk.apply(user, body))
            if kind == "tx-cancel":
                return json_reply(200, desk.cancel())
            return json_reply(200, desk.gen_online_keys(user, body))

    # --- production targets and waves (see online/sandbox/waves.py) ------------------

    def _waves(self, factory: str) -> WaveStore:
        return WaveStore(self.state.factory_dir(factory))

    def _production_targets(self, factory: str, tags: str) -> Reply:
        store = self._waves(factory)
        wanted = [t for t in tags.split(",") if t] or store.tags()
        found = {tag: env.to_dict() for tag in wanted if (env := store.production_targets(tag)) is not None}
        if not found:
            return error_reply(
                404, "no-production-targets", f"factory {factory} has no production targets for {tags!r}"
            )
        return json_reply(200, found)

    def _ci_targets(self, factory: str, version: str | None) -> Reply:
        """fioctl ``TargetsList``: ``{name: target}`` of the CI targets.json, of one version if asked."""
        ci = Envelope.from_bytes(self.state.targets_bytes(factory), what="stored CI targets.json")
        return json_reply(200, ci_targets_of_version(ci, version))

    def _resign_targets(self, factory: str, tag: str, body: bytes) -> Reply:
        from .resign import accept_resigned_targets

        with self.lock:
            store = self._waves(factory)
            prod = self.state.root(factory, True)
            assert prod is not None
            envelope = accept_resigned_targets(
                body,
                tag=tag,
                current=store.production_targets(tag),
                prod_root=prod,
                online=self.state.online_key(factory, "targets"),
                now=self.clock(),
            )
            store.save_production_targets(tag, envelope)
        return json_reply(
            200, {"message": f"production targets {tag} re-signed", "expires": envelope.signed["expires"]}
        )

    def _get_wave(self, factory: str, name: str, show_targets: bool) -> Reply:
        wave = self._waves(factory).wave(name)
        if wave is None:
            return error_reply(404, "no-such-wave", f"factory {factory} has no wave {name!r}")
        return json_reply(200, wave if show_targets else _without_targets(wave))

    def _list_waves(self, factory: str, path: str, query: dict[str, list[str]]) -> Reply:
        """``GET waves/?limit&page[&status][&tag]`` → ``{waves, total, next}``, newest first."""
        try:
            limit = int(query.get("limit", ["20"])[0])
            page = int(query.get("page", ["1"])[0])
        except ValueError:
            return error_reply(400, "bad-request", "limit and page must be integers")
        status, tag = query.get("status", [""])[0], query.get("tag", [""])[0]
        if limit < 1 or page < 1 or (status and status not in STATUSES):
            return error_reply(400, "bad-request", f"limit and page start at 1; status is one of {STATUSES}")
        waves = [
            w
            for w in self._waves(factory).waves()
            if (not status or w.get("status") == status) and (not tag or w.get("tag") == tag)
        ]
        waves.sort(key=lambda w: (w["change-meta"]["created-at"], w["name"]), reverse=True)
        shown = waves[(page - 1) * limit : page * limit]
        more = len(waves) > page * limit
        next_page = f"{path}?limit={limit}&page={page + 1}" if more else None
        listed = [_without_targets(w) for w in shown]
        return json_reply(200, {"waves": listed, "total": len(waves), "next": next_page})

    def _create_wave(self, factory: str, body: bytes) -> Reply:
        with self.lock:
            store = self._waves(factory)
            prod = self.state.root(factory, True)
            assert prod is not None
            name, version_text, tag, targets = accept_wave(
                body,
                prod_root=prod,
                production_targets=store.production_targets,
                ci_targets=Envelope.from_bytes(self.state.targets_bytes(factory), what="stored CI targets.json"),
                online=self.state.online_key(factory, "targets"),
                now=self.clock(),
            )
            if store.wave(name) is not None:
                return error_reply(409, "wave-exists", f"wave {name} already exists")
            stamp = format_expires(self.clock())
            wave = {
                "name": name,
                "version": version_text,
                "tag": tag,
                "status": ACTIVE,
                "targets": targets.to_dict(),
                "rollout-groups": {},
                "rollout-history": [],
                "change-meta": {"created-at": stamp, "created-by": SANDBOX_USER, "updated-at": "", "updated-by": ""},
            }
            store.save_wave(wave, new=True)
            result = check_role(targets, prod, "targets")
        return json_reply(201, {**_without_targets(wave), "threshold-met": result.met})

    def _open_wave(self, factory: str, name: str) -> tuple[WaveStore, dict[str, Any], Envelope, Root]:
        """An active wave with its targets and the current production root (caller holds the lock)."""
        store = self._waves(factory)
        wave = store.wave(name)
        if wave is None:
            raise Refusal(404, "no-such-wave", f"factory {factory} has no wave {name!r}")
        if wave.get("status") != ACTIVE:
            raise Refusal(409, "wave-closed", f"wave {name} is {wave.get('status')}")
        prod = self.state.root(factory, True)
        assert prod is not None
        return store, wave, Envelope.from_dict(wave["targets"], what="stored wave targets"), prod

    def _sign_wave(self, factory: str, name: str, body: bytes) -> Reply:
        with self.lock:
            store, wave, envelope, prod = self._open_wave(factory, name)
            merged = add_signatures(envelope, checked_signatures(body, envelope, prod))
            store.save_wave({**wave, "targets": merged.to_dict()}, new=False)
            result = check_role(merged, prod, "targets")
        return json_reply(200, {"message": f"wave {name} signed: {result.describe()}", "threshold-met": result.met})

    def _rollout_wave(self, factory: str, name: str, body: bytes) -> Reply:
        """fioctl ``WaveRolloutResult``; the sandbox has no devices, so every rollout reaches 0 of them."""
        with self.lock:
            store, wave, envelope, prod = self._open_wave(factory, name)
            options = rollout_options(body)
            publishable(envelope, prod)
            group = options.get("group", "")
            if not options.get("dry-run", False):
                stamp = format_expires(self.clock())
                entry = {
                    "group-name": group,
                    "rollout-by": SANDBOX_USER,
                    "rollout-at": stamp,
                    "is-full-group": bool(group) and not options.get("uuids") and not options.get("limit"),
                    "is-factory-wide": not group,
                    "num-devices": 0,
                }
                groups = dict(wave.get("rollout-groups", {}))
                if group and group not in groups:
                    ref = {"group-id": len(groups) + 1, "group-name": group, "created-at": stamp}
                    groups[group] = ref | {"created-by": SANDBOX_USER}
                history = [*wave.get("rollout-history", []), entry]
                wave = {**wave, "rollout-groups": groups, "rollout-history": history}
                store.save_wave(wave, new=False)
        result = {**_without_targets(wave), "device-num": 0, "device-uuids": [], "device-names": []}
        return json_reply(200, result)

    def _finish_wave(self, factory: str, name: str, status: str) -> Reply:
        with self.lock:
            store, wave, envelope, prod = self._open_wave(factory, name)
            if status == COMPLETE:
                publishable(envelope, prod)
                store.save_production_targets(wave["tag"], envelope)
            meta = {**wave["change-meta"], "updated-at": format_expires(self.clock()), "updated-by": SANDBOX_USER}
            store.save_wave({**wave, "status": status, "change-meta": meta}, new=False)
        return json_reply(200, {"message": f"wave {name} is {status}"})

    def _get_root(self, factory: str, production: bool, version: int | None) -> Reply:
        data = self.state.root_bytes(factory, production, version)
        if data is None:
            label = "production" if production else "CI"
            return error_reply(404, "no-such-version", f"factory {factory} has no {label} root version {version}")
        return Reply(200, data)

    def _upload(self, factory: str, production: bool, body: bytes) -> Reply:
        with self.lock:
            if production:
                remaining = self.state.take_fault("fail_prod_uploads")
                if remaining is not None:
                    return error_reply(
                        503,
                        "unavailable",
                        f"production root upload refused by an injected fault ({remaining} more pending); retry",
                        (("Retry-After", "1"),),
                    )
            now = self.clock()
            current_prod = self.state.root(factory, True)
            assert current_prod is not None
            if production:
                new = check_prod_upload(
                    body, current_prod=current_prod, ci_root_at=lambda n: self.state.root(factory, False, n), now=now
                )
                resigned_targets = self._resigned_production_targets(factory, new)
            else:
                current_ci = self.state.root(factory, False)
                assert current_ci is not None
                new = check_ci_upload(body, current_ci=current_ci, current_prod=current_prod, now=now)
            self.state.store_root(factory, production, new.version, body)
            if production:
                for tag, envelope in resigned_targets.items():
                    self._waves(factory).save_production_targets(tag, envelope)
        label = "production" if production else "CI"
        return json_reply(200, {"message": f"{label} root version {new.version} stored", "version": new.version})

    def _resigned_production_targets(self, factory: str, new_prod: Root) -> dict[str, Envelope]:
        """Apply a root's ``targets-signatures``; every tag must then meet the new threshold."""
        raw = new_prod.envelope.extra.get("targets-signatures")
        store = self._waves(factory)
        out: dict[str, Envelope] = {}
        if raw is not None:
            if not isinstance(raw, dict):
                raise Refusal(400, "bad-request", "targets-signatures must be an object")
            for tag, sigs in raw.items():
                current = store.production_targets(tag)
                if current is None or not isinstance(sigs, list):
                    raise Refusal(400, "bad-request", f"targets-signatures names unknown tag {tag!r}")
                try:
                    entries = [SignatureEntry.from_dict(s) for s in sigs]
                except InputFormatError as exc:
                    raise Refusal(400, "bad-request", exc.message) from exc
                out[tag] = resigned(current, entries, new_prod)
        for tag in store.tags():
            if tag not in out:
                current = store.production_targets(tag)
                assert current is not None
                publishable(current, new_prod)  # a new production root may not orphan published targets
        return out


def _without_targets(wave: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in wave.items() if k != "targets"}


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    timeout = REQUEST_TIMEOUT
    server_version = "tuf-airgap-sandbox/1"

    def version_string(self) -> str:
        return self.server_version

    def _read_body(self) -> bytes | Refusal:
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            return Refusal(411, "length-required", "chunked request bodies are not accepted; send Content-Length")
        raw = self.headers.get("Content-Length")
        if raw is None:
            if self.command == "POST":
                return Refusal(411, "length-required", "the request has no Content-Length header")
            return b""
        if not raw.isdigit():
            self.close_connection = True
            return Refusal(400, "bad-request", "Content-Length is not a number")
        length = int(raw)
        if length > MAX_UPLOAD_BYTES:
            if length <= DISCARD_LIMIT:
                remaining = length
                while remaining > 0:
                    chunk = self.rfile.read(min(remaining, 1024 * 1024))
                    if not chunk:
                        break
                    remaining -= len(chunk)
            self.close_connection = True
            return Refusal(413, "too-large", f"the body is {length} bytes; the limit is {MAX_UPLOAD_BYTES}")
        data = self.rfile.read(length)
        if len(data) != length:
            self.close_connection = True
            return Refusal(400, "bad-request", "the body is shorter than its Content-Length")
        return data

    def _dispatch(self) -> None:
        try:
            body = self._read_body()
        except (TimeoutError, OSError):
            self.close_connection = True
            return
        reply = self.server.app.handle(self.command, self.path, self.headers.get(TOKEN_HEADER), body)
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply.body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in reply.headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _dispatch

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Malformed requests and unknown methods get the same JSON error shape as everything else."""
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "error"
        self.close_connection = True
        self.log_error("code %d, message %s", code, message)
        self._send(error_reply(code, f"http-{code}", message or phrase))

    def log_message(self, format: str, *args: Any) -> None:
        log = self.server.app.log
        if log is not None:
            log(f"{self.address_string()} {format % args}")


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], app: SandboxApp, family: socket.AddressFamily) -> None:
        self.address_family = family
        self.app = app
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name, which can stall without DNS; loopback needs none.
        import socketserver

        socketserver.TCPServer.server_bind(self)
        self.server_name = str(self.server_address[0])
        self.server_port = int(self.server_address[1])


def loopback_host(host: str) -> tuple[str, socket.AddressFamily]:
    """The address to bind, refusing anything that is not loopback (127.0.0.0/8 or ::1)."""
    literal = "127.0.0.1" if host == "localhost" else host.strip("[]")
    try:
        address = ipaddress.ip_address(literal)
    except ValueError:
        address = None
    if address is None or not address.is_loopback:
        raise UsageError(
            f"refusing to listen on {host!r}: the sandbox server only binds loopback addresses",
            hint="Use --host 127.0.0.1 (or ::1).",
        )
    return str(address), socket.AF_INET6 if address.version == 6 else socket.AF_INET


class SandboxServer:
    """A sandbox factory server over ``state_dir``; ``port=0`` picks a free port.

    ``start()`` serves from a background thread and returns the base URL;
    ``serve_forever()`` serves in the calling thread; ``stop()`` ends either.
    Also a context manager: ``with SandboxServer(d) as server: server.url``.
    """

    def __init__(
        self,
        state_dir: Path,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        clock: Clock = utc_now,
        log: Log | None = None,
    ) -> None:
        self.host, self._family = loopback_host(host)
        self.port = port
        self.state = SandboxState(Path(state_dir))
        self.app = SandboxApp(self.state, clock, log)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    def bind(self) -> str:
        if self._httpd is None:
            if not self.state.directory.is_dir():
                raise UsageError(f"state directory {self.state.directory} does not exist")
            try:
                self._httpd = _HTTPServer((self.host, self.port), self.app, self._family)
            except OSError as exc:
                raise UsageError(
                    f"cannot listen on {self.host} port {self.port}: {exc.strerror}",
                    hint="Choose another --port, or stop the program that uses it.",
                ) from exc
            self.port = int(self._httpd.server_address[1])
        return self.url

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if self._family == socket.AF_INET6 else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> str:
        url = self.bind()
        if self._thread is None:
            assert self._httpd is not None
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="sandbox-server", daemon=True
            )
            self._thread.start()
        return url

    def serve_forever(self) -> None:
        self.bind()
        assert self._httpd is not None
        try:
            self._httpd.serve_forever(poll_interval=0.2)
        finally:
            self._httpd.server_close()
            self._httpd = None

    def stop(self) -> None:
        httpd, thread = self._httpd, self._thread
        self._httpd = self._thread = None
        if httpd is not None:
            if thread is not None:
                httpd.shutdown()
                thread.join(timeout=10)
            httpd.server_close()

    def inject_faults(self, *, fail_prod_uploads: int) -> None:
        """Make the next ``fail_prod_uploads`` production root uploads fail with 503."""
        with self.app.lock:
            self.state.set_faults(fail_prod_uploads=fail_prod_uploads)

    def __enter__(self) -> SandboxServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
