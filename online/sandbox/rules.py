"""What a factory server checks before it accepts a new CI or production root (pure).

Each refusal carries the HTTP status, a short error code and a one-line message,
so the server can answer exactly as documented in bundle-spec.md §3:

- 400 ``bad-json`` / ``bad-metadata``: not strict JSON, or not a valid Foundries root;
- 409 ``version-conflict``: the version is not the current version + 1;
- 409 ``prod-out-of-sync``: a CI upload while the production root lags behind the CI root;
- 409 ``ci-root-missing``: a production root whose CI root of the same version does not exist;
- 409 ``prod-mismatch``: a production root whose ``signed`` part differs from the CI root's
  other than by a higher (or equal) ``roles.targets.threshold``;
- 422 ``verification-failed``: signatures do not meet the old and the new root threshold,
  or the new root has expired.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from appliance.core.errors import InputFormatError, MetadataError, Refusal, VerificationError
from appliance.core.metadata import Root
from appliance.core.rootpair import pair_differences
from appliance.core.verify import check_root_update

MAX_UPLOAD_BYTES = 1024 * 1024


def _label(production: bool) -> str:
    return "production" if production else "CI"


def parse_upload(body: bytes, *, production: bool) -> Root:
    what = f"uploaded {_label(production)} root"
    if len(body) > MAX_UPLOAD_BYTES:
        raise Refusal(413, "too-large", f"{what} is {len(body)} bytes; the limit is {MAX_UPLOAD_BYTES}")
    try:
        return Root.from_bytes(body, what=what)
    except MetadataError as exc:
        raise Refusal(400, "bad-metadata", exc.message) from exc
    except InputFormatError as exc:
        raise Refusal(400, "bad-json", exc.message) from exc


def _check_version(new: Root, current: Root, production: bool) -> None:
    if new.version != current.version + 1:
        label = _label(production)
        raise Refusal(
            409,
            "version-conflict",
            f"{label} root version {new.version} does not follow the current {label} root version "
            f"{current.version}; expected version {current.version + 1}",
        )


def _check_successor(current: Root, new: Root, now: datetime, production: bool) -> None:
    label = _label(production)
    try:
        result = check_root_update(current, new, now)
    except VerificationError as exc:
        raise Refusal(422, "verification-failed", f"{label} root v{new.version}: {exc.message}", [exc.message]) from exc
    if not result.ok:
        problems = result.problems()
        raise Refusal(
            422,
            "verification-failed",
            f"{label} root v{new.version} is not a valid successor of v{current.version}: " + "; ".join(problems),
            problems,
        )


def check_ci_upload(body: bytes, *, current_ci: Root, current_prod: Root, now: datetime) -> Root:
    """Return the parsed root if the server must accept it as the new CI root."""
    new = parse_upload(body, production=False)
    _check_version(new, current_ci, production=False)
    if current_prod.version < current_ci.version:
        raise Refusal(
            409,
            "prod-out-of-sync",
            f"production root out of sync: production is at version {current_prod.version} while CI is at "
            f"version {current_ci.version}; upload production root version {current_ci.version} first",
        )
    _check_successor(current_ci, new, now, production=False)
    return new


def check_prod_upload(
    body: bytes, *, current_prod: Root, ci_root_at: Callable[[int], Root | None], now: datetime
) -> Root:
    """Return the parsed root if the server must accept it as the new production root.

    ``ci_root_at(n)`` returns the CI root of version n, or None when there is none (yet).
    """
    new = parse_upload(body, production=True)
    _check_version(new, current_prod, production=True)
    ci_root = ci_root_at(new.version)
    if ci_root is None:
        raise Refusal(
            409,
            "ci-root-missing",
            f"production root version {new.version} cannot be uploaded before CI root version {new.version}; "
            "upload the CI root first",
        )
    differences = pair_differences(ci_root.meta, new.meta)
    if differences:
        raise Refusal(
            409,
            "prod-mismatch",
            f"production root v{new.version} differs from CI root v{new.version} in: " + ", ".join(differences),
            differences,
        )
    _check_successor(current_prod, new, now, production=True)
    return new
