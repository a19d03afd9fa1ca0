"""What a response's ``result`` may hold, checked by the station before it uses any of it.

The appliance never puts private key material in a response (``assert_no_private_material``
before it writes one); the station checks again, because a response that carried a key
would put it on the online side.  So, anywhere in ``result``: no member named ``private``
(fioctl's key files keep private keys under ``keyval.private``), no string holding a PEM
``PRIVATE KEY`` marker or an identity secret.  And only the fields the operation defines
(bundle-spec.md section 6): an unknown field is refused, not ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import BundleError

_ROOTS = frozenset({"ci_root", "prod_root", "new_keys", "tarball_sha256"})
_STAGED = _ROOTS | {"targets_signatures", "waves_signatures", "staged_ci_sha256", "signed_by"}
RESULT_FIELDS: Mapping[str, frozenset[str]] = {
    "rotate-root": _ROOTS,
    "rotate-targets": _ROOTS,
    "sign-targets": frozenset({"wave", "targets_version", "signatures"}),
    "init-wave": frozenset({"wave", "targets_version", "signatures"}),
    "resign-root": _ROOTS,
    "resign-targets": frozenset({"production_targets"}),
}
_SECRET_MARKERS = ("PRIVATE KEY", "tuf-airgap-identity-secret")
_MAX_DEPTH = 64


def _find_private(value: Any, where: str, depth: int = 0) -> str | None:
    if depth > _MAX_DEPTH:
        return where
    if isinstance(value, Mapping):
        for name, item in value.items():
            if name == "private":
                return f"{where}.{name}"
            found = _find_private(item, f"{where}.{name}", depth + 1)
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _find_private(item, f"{where}[{index}]", depth + 1)
            if found:
                return found
    elif isinstance(value, str) and any(marker in value for marker in _SECRET_MARKERS):
        return where
    return None


def check_result(operation: str, result: Mapping[str, Any]) -> None:
    """Refuse a response result with private key material anywhere, or with fields not in the spec."""
    found = _find_private(result, "result")
    if found is not None:
        raise BundleError(
            f"the response carries private key material at {found[:200]}; refusing it",
            hint="A response never holds private keys. Do not use this file; investigate where it came from.",
        )
    # every root updates operation (bundle-spec §11.4) answers with the staged roots and what signing added
    allowed = _STAGED if operation.startswith("updates-") else RESULT_FIELDS.get(operation)
    if allowed is None:
        raise BundleError(f"responses to {operation!r} are not supported")
    unknown = sorted(set(result) - allowed)
    if unknown:
        shown = ", ".join(repr(name[:100]) for name in unknown[:10])
        raise BundleError(
            f"the response result has fields this station does not know: {shown}",
            hint="Only responses written by the paired appliance, of the same format version, are accepted.",
        )
