"""Where tuf-online finds the server URL, the API token and the factory name.

Order: command-line options first, then the environment (``TUF_ONLINE_SERVER``,
``TUF_ONLINE_TOKEN``, ``TUF_ONLINE_FACTORY``).  The token may also come from a
file (``--token-file``), which keeps it out of the process list and shell history.
Missing values are a UsageError whose hint names the option and the variable.

Commands take the four options as one set (``online.commands.options.connection_options``):
the command receives a ``ConnectionOptions`` value and resolves it into a ``Connection``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from appliance.core.errors import UsageError

if TYPE_CHECKING:
    from .api import FactoryClient

ENV_SERVER = "TUF_ONLINE_SERVER"
ENV_TOKEN = "TUF_ONLINE_TOKEN"  # noqa: S105 - a variable name, not a secret
ENV_FACTORY = "TUF_ONLINE_FACTORY"
ENV_INSECURE_HTTP = "TUF_ONLINE_INSECURE_HTTP"
MAX_TOKEN_FILE_BYTES = 8 * 1024
IMPORT_DEADLINE = 600.0  # seconds for all the server exchanges of one import


@dataclass(frozen=True)
class Connection:
    server: str
    factory: str
    token: str = field(repr=False)
    insecure_http: bool = False

    def client(self, timeout: float | None = None, total_deadline: float | None = None) -> FactoryClient:
        """A FactoryClient for this connection (imported lazily to keep --help fast).

        ``timeout`` bounds each request as a whole; ``total_deadline`` (a ``time.monotonic()``
        value) bounds everything the client does, e.g. one import."""
        from .client import DEFAULT_TIMEOUT, HttpFactoryClient

        return HttpFactoryClient(
            self.server,
            self.token,
            self.factory,
            timeout=timeout or DEFAULT_TIMEOUT,
            insecure_http=self.insecure_http,
            total_deadline=total_deadline,
        )


@dataclass(frozen=True)
class ConnectionOptions:
    """The connection options as given on the command line, before the environment is consulted."""

    server: str | None = None
    factory: str | None = None
    token: str | None = field(default=None, repr=False)
    token_file: Path | None = None
    insecure_http: bool = False

    def resolve(self, factory: str | None = None, env: Mapping[str, str] | None = None) -> Connection:
        """The ``Connection``; ``factory`` (e.g. from a request) overrides the option and the environment."""
        return resolve_connection(
            self.server, factory or self.factory, self.token, self.token_file, env, insecure_http=self.insecure_http
        )


def insecure_http_allowed(option: bool, env: Mapping[str, str] | None = None) -> bool:
    """``--insecure-http`` or ``TUF_ONLINE_INSECURE_HTTP=1``: plain http to a non-loopback server."""
    return option or (os.environ if env is None else env).get(ENV_INSECURE_HTTP, "") == "1"


def read_token_file(path: Path) -> str:
    from appliance.common.durable import read_capped

    data = read_capped(Path(path), MAX_TOKEN_FILE_BYTES, what="token file")
    try:
        text = data.decode("ascii").strip()
    except UnicodeDecodeError:
        # Not chained: the decode error quotes the token file's bytes.
        raise UsageError(f"token file {path} is not ASCII text") from None
    if not text:
        raise UsageError(f"token file {path} is empty")
    if "\n" in text:
        raise UsageError(f"token file {path} has more than one line", hint="Put only the token in the file.")
    return text


def _pick(option: str | None, env: Mapping[str, str], name: str) -> str | None:
    if option is not None and option.strip():
        return option.strip()
    value = env.get(name, "").strip()
    return value or None


def resolve_server(server: str | None, env: Mapping[str, str] | None = None, *, insecure_http: bool = False) -> str:
    from .client import check_server_url

    value = _pick(server, os.environ if env is None else env, ENV_SERVER)
    if value is None:
        raise UsageError(
            "no factory server given",
            hint=f"Pass --server URL or set {ENV_SERVER} (the sandbox prints its URL when it starts).",
        )
    return check_server_url(value, insecure_http=insecure_http_allowed(insecure_http, env))


def resolve_factory(factory: str | None, env: Mapping[str, str] | None = None) -> str:
    from .client import check_factory

    value = _pick(factory, os.environ if env is None else env, ENV_FACTORY)
    if value is None:
        raise UsageError("no factory name given", hint=f"Pass --factory NAME or set {ENV_FACTORY}.")
    return check_factory(value)


def resolve_token(token: str | None, token_file: Path | None, env: Mapping[str, str] | None = None) -> str:
    from .client import check_token

    if token is not None and token_file is not None:
        raise UsageError("give either --token or --token-file, not both")
    if token_file is not None:
        return check_token(read_token_file(token_file))
    value = _pick(token, os.environ if env is None else env, ENV_TOKEN)
    if value is None:
        raise UsageError("no API token given", hint=f"Pass --token-file FILE (or --token TOKEN) or set {ENV_TOKEN}.")
    return check_token(value)


def resolve_connection(
    server: str | None,
    factory: str | None,
    token: str | None,
    token_file: Path | None,
    env: Mapping[str, str] | None = None,
    *,
    insecure_http: bool = False,
) -> Connection:
    allowed = insecure_http_allowed(insecure_http, env)
    return Connection(
        server=resolve_server(server, env, insecure_http=allowed),
        factory=resolve_factory(factory, env),
        token=resolve_token(token, token_file, env),
        insecure_http=allowed,
    )


def make_client(server: str | None, token: str | None, token_file: Path | None, factory: str) -> FactoryClient:
    """A FactoryClient for ``factory`` with server and token resolved as above."""
    return resolve_connection(server, factory, token, token_file).client()
