"""Where tuf-online finds the server URL, the API token and the factory name.

Order: command-line options first, then the environment (``TUF_ONLINE_SERVER``,
``TUF_ONLINE_TOKEN``, ``TUF_ONLINE_FACTORY``).  The token may also come from a
file (``--token-file``), which keeps it out of the process list and shell history.
Missing values are a UsageError whose hint names the option and the variable.

Commands declare the options with ``server_option()``, ``factory_option()``,
``token_option()``, ``token_file_option()`` and call ``resolve_connection``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from appliance.core.errors import UsageError

ENV_SERVER = "TUF_ONLINE_SERVER"
ENV_TOKEN = "TUF_ONLINE_TOKEN"  # noqa: S105 - a variable name, not a secret
ENV_FACTORY = "TUF_ONLINE_FACTORY"
ENV_INSECURE_HTTP = "TUF_ONLINE_INSECURE_HTTP"
IMPORT_DEADLINE = 600.0  # seconds for all the server exchanges of one import
MAX_TOKEN_FILE_BYTES = 8 * 1024


def server_option() -> Any:
    return typer.Option(
        None, "--server", help=f"Factory API base URL, e.g. https://api.foundries.io [env {ENV_SERVER}]."
    )


def factory_option() -> Any:
    return typer.Option(None, "--factory", help=f"Factory name [env {ENV_FACTORY}].")


def token_option() -> Any:
    return typer.Option(
        None, "--token", help=f"API token (visible in the process list; prefer --token-file or {ENV_TOKEN})."
    )


def insecure_http_option() -> Any:
    return typer.Option(
        False,
        "--insecure-http",
        help=f"Allow http:// to a non-loopback server (the token travels in clear) [env {ENV_INSECURE_HTTP}=1].",
    )


def insecure_http_allowed(option: bool, env: Mapping[str, str] | None = None) -> bool:
    return option or (os.environ if env is None else env).get(ENV_INSECURE_HTTP, "") == "1"


def token_file_option() -> Any:
    return typer.Option(None, "--token-file", help="File holding the API token (one line).")


@dataclass(frozen=True)
class Connection:
    server: str
    factory: str
    token: str = field(repr=False)
    insecure_http: bool = False

    def client(self, timeout: float | None = None, total_seconds: float | None = None) -> Any:
        """A FactoryClient for this connection (imported lazily to keep --help fast)."""
        import time

        from .client import DEFAULT_TIMEOUT, FactoryClient

        return FactoryClient(
            self.server,
            self.token,
            self.factory,
            timeout=timeout or DEFAULT_TIMEOUT,
            insecure_http=self.insecure_http,
            total_deadline=None if total_seconds is None else time.monotonic() + total_seconds,
        )


def read_token_file(path: Path) -> str:
    from appliance.common.durable import read_capped

    data = read_capped(Path(path), MAX_TOKEN_FILE_BYTES, what="token file")
    try:
        text = data.decode("ascii").strip()
    except UnicodeDecodeError:
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


def make_client(
    server: str | None,
    token: str | None,
    token_file: Path | None,
    factory: str,
    *,
    insecure_http: bool = False,
    total_seconds: float | None = None,
) -> Any:
    """A FactoryClient for ``factory`` with server and token resolved as above."""
    allowed = insecure_http_allowed(insecure_http)
    connection = Connection(
        resolve_server(server, insecure_http=allowed),
        resolve_factory(factory),
        resolve_token(token, token_file),
        insecure_http=allowed,
    )
    return connection.client(total_seconds=total_seconds)
