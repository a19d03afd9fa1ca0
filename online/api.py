"""What the station needs from a factory server, and the facts of its HTTP API shared by
the client and the sandbox server.

``FactoryClient`` is the seam every station step is written against: the HTTP client
(``online.client.HttpFactoryClient``) implements it, and tests may pass any object
with these methods.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

TOKEN_HEADER = "OSF-TOKEN"  # noqa: S105 - a header name, not a secret


class ApiResponse(Protocol):
    @property
    def status(self) -> int: ...

    @property
    def body(self) -> bytes: ...


class FactoryClient(Protocol):
    """One factory on one server, reached with one token."""

    @property
    def factory(self) -> str: ...

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
    ) -> ApiResponse: ...

    def get_root(self, production: bool = False, version: int | None = None) -> bytes: ...

    def post_root(self, data: bytes, production: bool = False) -> None: ...

    def get_ci_targets_key(self) -> bytes: ...

    def get_targets(self) -> bytes: ...
