"""Verify a response bundle and apply it to the factory, resumably.

Upload order is CI root, then production root (the server refuses a production
root whose CI twin is missing).  Before each upload the server's current root is
read: if it already is the new root the step is done, if it is the old root the
step runs, anything else stops the import.  Re-running after any failure
therefore finishes the job, and re-importing a finished response changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from appliance.common.durable import crashpoint, read_capped
from appliance.common.render import console, root_table
from appliance.core.bundle import MAX_BUNDLE_BYTES, check_binding, open_response
from appliance.core.errors import BundleError, RemoteError, VerificationError
from appliance.core.metadata import Root
from appliance.core.resultcheck import check_result
from appliance.core.rootpair import RootPair, parse_chain, same_metadata
from appliance.core.rotation import verify_new_pair
from appliance.core.verify import verify_root_chain

from .config import IMPORT_DEADLINE, make_client
from .station import Station

ROOT_OPERATIONS = ("rotate-root", "rotate-targets")


def device_acceptance(history: list[Root], new: Root, now: datetime, label: str) -> None:
    """A device holding any earlier version must reach ``new``: every link verifies and ``new`` is unexpired.

    Links are independent, so checking each once covers a device starting from every version.
    """
    verify_root_chain(history[0], [*history[1:], new], now)
    if history[0].version != 1:
        raise VerificationError(f"{label} history does not start at version 1")


def _upload_step(client: Any, old: Root, new: Root, production: bool) -> bool:
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
    server: str | None,
    token: str | None,
    token_file: Path | None,
    home: Path | None,
    insecure_http: bool = False,
    total_seconds: float = IMPORT_DEADLINE,
) -> None:
    """``total_seconds`` bounds all server exchanges of this import together."""
    station = Station(home)
    appliance = station.appliance()
    response = open_response(
        read_capped(response_path, MAX_BUNDLE_BYTES, what="response"), appliance, what=str(response_path)
    )
    request = station.pending_request(response.request_id)
    check_binding(response, request)
    check_result(response.operation, response.result)
    out = console()
    progress = station.progress(request.request_id)
    if progress.get("done"):
        out.print(f"response {request.request_id} was already imported on {progress.get('updated')}; nothing to do")
        return

    def connect() -> Any:
        return make_client(
            server, token, token_file, request.factory, insecure_http=insecure_http, total_seconds=total_seconds
        )

    if request.operation == "sign-targets":
        _import_wave_signatures(station, request, response.result, connect)
        return
    if request.operation not in ROOT_OPERATIONS:
        raise BundleError(f"importing {request.operation} responses is not supported by this command")
    now = datetime.now(UTC)
    ci_history = parse_chain(request.payload["ci_roots"], "CI root history")
    prod_history = parse_chain(request.payload["prod_roots"], "production root history")
    result = response.result
    new = RootPair(
        Root.from_dict(result.get("ci_root"), what="new CI root"),
        Root.from_dict(result.get("prod_root"), what="new production root"),
    )
    old = RootPair(ci_history[-1], prod_history[-1])
    verify_new_pair(old, new, now)
    device_acceptance(ci_history, new.ci, now, "CI")
    device_acceptance(prod_history, new.prod, now, "production")

    client = connect()
    if _upload_step(client, old.ci, new.ci, production=False):
        out.print(f"uploaded CI root v{new.ci.version}")
    station.save_progress(request.request_id, {"ci_uploaded": True})
    crashpoint("import:ci-uploaded")
    if _upload_step(client, old.prod, new.prod, production=True):
        out.print(f"uploaded production root v{new.prod.version}")
    station.save_progress(request.request_id, {"ci_uploaded": True, "prod_uploaded": True})
    for production, expected in ((False, new.ci), (True, new.prod)):
        served = Root.from_bytes(client.get_root(production=production), what="uploaded root")
        if not same_metadata(served, expected):
            raise RemoteError(
                "the server does not serve the root that was uploaded", hint="Investigate before retrying."
            )
    station.save_progress(request.request_id, {"ci_uploaded": True, "prod_uploaded": True, "done": True})
    out.print(root_table(new.ci, f"{request.factory} CI root now"))
    out.print(root_table(new.prod, f"{request.factory} production root now"))


def _import_wave_signatures(
    station: Station,
    request: Any,
    result: dict[str, Any],
    connect: Callable[[], Any],
) -> None:
    """Check that the offline signatures complete the production threshold, then post them."""
    from appliance.core.keys import SignatureEntry
    from appliance.core.metadata import Envelope
    from appliance.core.targets import add_signatures, check_production_targets

    from .targets_api import get_wave, sign_wave

    wave = request.payload["wave"]
    if result.get("wave") != wave["name"]:
        raise BundleError("response signs a different wave than the request")
    raw = result.get("signatures")
    if not isinstance(raw, list) or not raw:
        raise BundleError("response carries no signatures")
    signatures = [SignatureEntry.from_dict(s) for s in raw]
    prod = parse_chain(request.payload["prod_roots"], "production root history")[-1]
    envelope = Envelope.from_dict(wave["targets"], what="wave targets")
    outcome = check_production_targets(add_signatures(envelope, signatures), prod)
    client = connect()
    current = Envelope.from_dict(get_wave(client, wave["name"]).get("targets"), what="server wave targets")
    if current.signed_bytes() != envelope.signed_bytes():
        raise RemoteError(f"wave {wave['name']} changed on the server since export", hint="Export a fresh request.")
    have = {(s.keyid, s.sig) for s in current.signatures}
    if all((s.keyid, s.sig) in have for s in signatures):
        console().print(f"wave {wave['name']} already carries these signatures; nothing to do")
    else:
        sign_wave(client, wave["name"], [s.to_dict() for s in signatures])
        console().print(f"signed wave {wave['name']}: {outcome.describe()}")
    station.save_progress(request.request_id, {"done": True})
