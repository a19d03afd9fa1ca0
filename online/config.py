"""Where tuf-online finds the server URL, the API token and the factory name.

Order: command-line options first, then the environment (``TUF_ONLINE_SERVER``,
``TUF_ONLINE_TOKEN``, ``TUF_ONLINE_FACTORY``).  The token may also come from a
file (``--token-file``), which keeps it out of the process list and shell history.
Missing values are a UsageError whose hint names the option and the variable.

Commands take the four options as one set with ``@connection_options()`` (or
``@connection_options(factory=False)`` when the factory comes from elsewhere): the
command receives a ``ConnectionOptions`` value and resolves it into a ``Connection``.
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from appliance.core.errors import UsageError

if TYPE_CHECKING:
    from .api import FactoryClient

ENV_SERVER = "TUF_ONLINE_SERVER"
ENV_TOKEN = "TUF_ONLINE_TOKEN"  # noqa: S105 - a variable name, not a secret
ENV_FACTORY = "TUF_ONLINE_FACTORY"
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


def token_file_option() -> Any:
    return typer.Option(None, "--token-file", help="File holding the API token (one line).")


@dataclass(frozen=True)
class Connection:
    server: str
    factory: str
    token: str = field(repr=False)

    def client(self, timeout: float | None = None) -> FactoryClient:
        """A FactoryClient for this connection (imported lazily to keep --help fast)."""
        from .client import DEFAULT_TIMEOUT, HttpFactoryClient

        return HttpFactoryClient(self.server, self.token, self.factory, timeout=timeout or DEFAULT_TIMEOUT)


@dataclass(frozen=True)
class ConnectionOptions:
    """The connection options as given on the command line, before the environment is consulted."""

    server: str | None = None
    factory: str | None = None
    token: str | None = field(default=None, repr=False)
    token_file: Path | None = None

    def resolve(self, factory: str | None = None, env: Mapping[str, str] | None = None) -> Connection:
        """The ``Connection``; ``factory`` (e.g. from a request) overrides the option and the environment."""
        return resolve_connection(self.server, factory or self.factory, self.token, self.token_file, env)


R = TypeVar("R")


def connection_options(*, factory: bool = True) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """Give a command ``--server``, ``--token``, ``--token-file`` (and ``--factory``) as one set.

    The decorated command declares a parameter ``connection: ConnectionOptions``; the
    options take its place in the command line and reach it as one value.
    """

    def decorate(command: Callable[..., R]) -> Callable[..., R]:
        signature = inspect.signature(command)
        options: list[tuple[str, Any, Any]] = [
            ("server", str | None, server_option()),
            ("token", str | None, token_option()),
            ("token_file", Path | None, token_file_option()),
        ]
        if factory:
            options.insert(0, ("factory", str | None, factory_option()))
        params: list[inspect.Parameter] = []
        for param in signature.parameters.values():
            if param.name == "connection":
                params += [
                    inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default, annotation=kind)
                    for name, kind, default in options
                ]
            else:
                params.append(param)

        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> R:
            given = {name: kwargs.pop(name) for name, _, _ in options}
            return command(*args, connection=ConnectionOptions(**given), **kwargs)

        annotations = {k: v for k, v in command.__annotations__.items() if k != "connection"}
        annotations |= {name: kind for name, kind, _ in options}
        wrapper.__annotations__ = annotations
        wrapper.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
        return wrapper

    return decorate


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


def resolve_server(server: str | None, env: Mapping[str, str] | None = None) -> str:
    from .client import check_server_url

    value = _pick(server, os.environ if env is None else env, ENV_SERVER)
    if value is None:
        raise UsageError(
            "no factory server given",
            hint=f"Pass --server URL or set {ENV_SERVER} (the sandbox prints its URL when it starts).",
        )
    return check_server_url(value)


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
) -> Connection:
    return Connection(
        server=resolve_server(server, env),
        factory=resolve_factory(factory, env),
        token=resolve_token(token, token_file, env),
    )


def make_client(server: str | None, token: str | None, token_file: Path | None, factory: str) -> FactoryClient:
    """A FactoryClient for ``factory`` with server and token resolved as above."""
    return Connection(resolve_server(server), resolve_factory(factory), resolve_token(token, token_file)).client()
