"""Verify a response bundle and apply it to the factory, resumably.

New roots go up through a root updates transaction by default (init, stage both roots,
apply; ``online.txstation``), as fioctl does today.  ``direct`` uploads them with
``POST …/user_repo/root`` for servers without that API: CI root, then production root
(the server refuses a production root whose CI twin is missing).  Before each step the
server's current roots are read: if they already are the new roots the step is done, if
they are the old roots the step runs, anything else stops the import.  Re-running after
any failure therefore finishes the job, and re-importing a finished response changes nothing.
Responses to root updates operations are staged into the transaction the station takes part in.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from appliance.common.durable import crashpoint, read_capped
from appliance.common.render import console, root_table
from appliance.core.bundle import MAX_BUNDLE_BYTES, Response, check_binding, open_response
from appliance.core.context import ResponseContext, bind_response
from appliance.core.errors import AirgapError, RemoteError, VerificationError
from appliance.core.identity import PeerKey
from appliance.core.metadata import Root
from appliance.core.operations import (
    Operation,
    ResignedTargets,
    RootResult,
    StagedResult,
    WaveSignatures,
)
from appliance.core.resign import check_resign_only
from appliance.core.resultcheck import check_result
from appliance.core.rootpair import RootPair, same_metadata
from appliance.core.rotation import verify_new_pair
from appliance.core.state import ImportProgress
from appliance.core.verify import verify_root_chain

from .api import FactoryClient
from .config import IMPORT_DEADLINE, ConnectionOptions
from .station import Station


def device_acceptance(history: list[Root], new: Root, now: datetime, label: str) -> None:
    """A device holding any earlier version must reach ``new``: every link verifies and ``new`` is unexpired.

    Links are independent, so checking each once covers a device starting from every version.
    """
    verify_root_chain(history[0], [*history[1:], new], now)
    if history[0].version != 1:
        raise VerificationError(f"{label} history does not start at version 1")


def _upload_step(client: FactoryClient, old: Root, new: Root, production: bool) -> bool:
    """Upload ``new`` unless the server already has it; True when an upload happened."""
    label = "production" if production else "CI"
    server_root = Root.from_bytes(client.get_root(production=production), what=f"server {label} root")
    if server_root.version == new.version:
        if not same_metadata(server_root, new):
            raise RemoteError(
                f"server already has a different {label} root v{new.version}",
                hint="Someone else rotated this factory; export a fresh request.",
            )
        return False
    if server_root.version != old.version or not same_metadata(server_root, old):
        raise RemoteError(
            f"server {label} root is v{server_root.version}, not the v{old.version} this request was made from",
            hint="The factory changed since export; export a fresh request.",
        )
    client.post_root(new.to_bytes(), production=production)
    return True


def import_bundle(
    response_path: Path,
    *,
    connection: ConnectionOptions,
    home: Path | None,
    direct: bool = False,
    total_seconds: float = IMPORT_DEADLINE,
) -> None:
    """``direct``: upload new roots with ``POST …/root`` (servers without the root updates API).
    ``total_seconds`` bounds all the server exchanges of this import together."""
    deadline = time.monotonic() + total_seconds
    station = Station(home)
    appliance = station.appliance()
    response = open_response(
        read_capped(response_path, MAX_BUNDLE_BYTES, what="response"), appliance, what=str(response_path)
    )
    request = station.pending_request(response.request_id)
    check_binding(response, request)
    check_result(response.operation, response.result)  # before any of it is parsed or used
    bound = bind_response(response, request)
    out = console()
    _cross_check(out, response, appliance)
    progress = station.progress(request.request_id)
    if progress.done:
        out.print(f"response {request.request_id} was already imported on {progress.updated}; nothing to do")
        return

    def client() -> FactoryClient:  # resolved only when the server is needed
        return connection.resolve(request.factory).client(total_deadline=deadline)

    if isinstance(bound.result, WaveSignatures):
        from .wavestation import import_wave, import_wave_signatures

        step = import_wave if request.operation == Operation.INIT_WAVE else import_wave_signatures
        step(station, bound, bound.result, client, progress)
    elif isinstance(bound.result, ResignedTargets):
        from .resignimport import import_resigned_targets

        import_resigned_targets(station, bound, bound.result, client, progress)
    elif isinstance(bound.result, StagedResult):
        from .txstation import import_update

        import_update(station, bound, bound.result, client())
    else:
        _import_roots(station, bound, bound.result, client, progress, direct=direct)


def _cross_check(out: Any, response: Response, appliance: PeerKey) -> None:
    """What the officer compares with the appliance's last screen before anything is uploaded."""
    from appliance.common.render import print_plain
    from appliance.core.identity import fingerprint_words, hex_words

    digest = response.digest()
    out.print("compare with the appliance's screen:")
    out.print("  response digest and its words (the appliance printed them last):")
    print_plain(out, f"  {digest}")
    out.print(f"  {' '.join(hex_words(digest))}")
    out.print(f"  sealed by appliance {appliance.fingerprint[:16]}, words:")
    out.print(f"  {' '.join(fingerprint_words(appliance.public))}")
    for key in response.result.get("new_keys", []):
        if isinstance(key, dict) and isinstance(key.get("keyid"), str):
            out.print(f"  new {key.get('role')} key {key['keyid'][:16]}, read aloud:")
            out.print(f"  {' '.join(hex_words(key['keyid']))}")


def _import_roots(
    station: Station,
    bound: ResponseContext,
    result: RootResult,
    client: Callable[[], FactoryClient],
    progress: ImportProgress,
    *,
    direct: bool,
) -> None:
    request, out = bound.request, console()
    now = datetime.now(UTC)
    new, old = result.pair, bound.histories.latest
    verify_new_pair(old, new, now)
    if request.operation == Operation.RESIGN_ROOT:
        check_resign_only(old.ci.meta, new.ci.meta, "new CI root")
        check_resign_only(old.prod.meta, new.prod.meta, "new production root")
    device_acceptance(list(bound.histories.ci), new.ci, now, "CI")
    device_acceptance(list(bound.histories.prod), new.prod, now, "production")

    api = client()
    if not direct:
        from .txstation import upload_via_transaction

        upload_via_transaction(api, old, new, request.operation)
        progress = progress.prod_done()
    else:
        progress = _upload_direct(station, request.request_id, api, old, new, progress)
    for production, expected in ((False, new.ci), (True, new.prod)):
        served = Root.from_bytes(api.get_root(production=production), what="uploaded root")
        if not same_metadata(served, expected):
            raise RemoteError(
                "the server does not serve the root that was uploaded", hint="Investigate before retrying."
            )
    station.save_progress(request.request_id, progress.finished())
    out.print(root_table(new.ci, f"{request.factory} CI root now"))
    out.print(root_table(new.prod, f"{request.factory} production root now"))


def _upload_direct(
    station: Station, request_id: str, api: FactoryClient, old: RootPair, new: RootPair, progress: ImportProgress
) -> ImportProgress:
    out = console()
    if _upload_step(api, old.ci, new.ci, production=False):
        out.print(f"uploaded CI root v{new.ci.version}")
    progress = progress.ci_done()
    station.save_progress(request_id, progress)
    crashpoint("import:ci-uploaded")
    try:
        uploaded = _upload_step(api, old.prod, new.prod, production=True)
    except AirgapError as exc:
        exc.hint = (
            f"Re-run 'tuf-online import' with this response now: CI and production roots differ "
            f"(CI is at v{new.ci.version}, production still at v{old.prod.version}) until it completes."
        )
        raise
    if uploaded:
        out.print(f"uploaded production root v{new.prod.version}")
    progress = progress.prod_done()
    station.save_progress(request_id, progress)
    return progress
