"""One error hierarchy for the whole tool.

Every failure a user can cause carries a one-line message, a hint saying what to
do about it, and the process exit code its class maps to.  Messages never carry
secret material: callers pass key ids and file names, never key bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class AirgapError(Exception):
    """Base of every error the CLIs turn into a clean message and exit code."""

    exit_code = 1
    hint = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if hint is not None:
            self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(AirgapError):
    """The command line itself is wrong (missing file, bad option value)."""

    exit_code = 2
    hint = "Run the command with --help to see its options."


class InputFormatError(AirgapError):
    """Bytes we were handed do not parse: bad JSON, bad tarball, bad bundle framing."""

    exit_code = 3
    hint = "The file is damaged or is not what it claims to be; get a fresh copy."


class KeyFormatError(InputFormatError):
    """A key file or key value is malformed or of an unsupported type."""

    hint = "Key files must be fioctl JSON with keytype ED25519 or RSA (>= 2048 bits)."


class MetadataError(InputFormatError):
    """TUF metadata is structurally invalid (missing fields, bad threshold, ...)."""

    hint = "The metadata does not follow the Foundries TUF format; do not use it."


class BackupFormatError(InputFormatError):
    """A typed or scanned backup does not decode (wrong line, missing part, bad header)."""

    hint = "Compare the named line or part with the paper sheet, correct it, and run the command again."


class ShareError(BackupFormatError):
    """Shares that do not parse, belong to different sets, or do not combine."""

    hint = "Use shares of one set only (same set id on every sheet) and check each share's words against its sheet."


class VerificationError(AirgapError):
    """Signatures, thresholds or versions do not check out."""

    exit_code = 4
    hint = "Do not proceed: the metadata is not trusted. Compare with the server and investigate."


class BackupMismatchError(VerificationError):
    """A backup decodes but does not reproduce the expected key."""

    hint = "Do not rely on this backup: print a new one from the offline keys tarball and read it back."


class TarballError(AirgapError):
    """The offline keys tarball is unsafe or inconsistent."""

    exit_code = 5
    hint = "Use the original offline keys tarball (offline-creds.tgz) from the safe."


class KeyMissingError(TarballError):
    """The tarball does not hold a private key the operation needs."""

    hint = "The tarball must hold the private key of the currently active role key."


class DurabilityError(AirgapError):
    """Writing or re-reading a file that holds key material failed."""

    exit_code = 6
    hint = "Check the target disk (space, permissions); nothing was replaced."


class BundleError(AirgapError):
    """A request or response bundle is refused (signature, binding, replay)."""

    exit_code = 7
    hint = "Only use bundles produced by your paired station for this ceremony."


class RemoteError(AirgapError):
    """The factory server answered with an error or could not be reached."""

    exit_code = 8
    hint = "Check the server URL, the token and the factory name; the operation can be retried."


class HTTPStatusError(RemoteError):
    """The server answered with a non-2xx status (``status``, its ``code`` and ``server_message``)."""

    def __init__(self, message: str, *, status: int, code: str | None, server_message: str, hint: str) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.code = code
        self.server_message = server_message


class SandboxStateError(UsageError):
    """The sandbox server's state directory is missing or damaged."""

    hint = "Create a factory first: tuf-online sandbox create-factory --state-dir DIR --factory NAME --keys-out FILE"


class AbortedByOperator(AirgapError):
    """The operator declined a confirmation."""

    exit_code = 9
    hint = "Nothing was changed."


class BackupPendingError(AirgapError):
    """Policy requires the new key's paper backup to be read back before the ceremony may finish."""

    exit_code = 10
    hint = "Print the backup, read it back, and re-run the same command with --backup-scan or --backup-typed."


class TokenError(AirgapError):
    """A PKCS#11 token cannot be used: not present, wrong PIN, locked, or missing the key."""

    exit_code = 11
    hint = "Insert the token named above and check its PIN; nothing was changed."


class TokenMissingError(TokenError):
    """The token (or the key object on it) that a reference names is not present."""

    hint = "Insert the token named above (check its label and serial); nothing was changed."


class TokenPinError(TokenError):
    """The token refused the PIN."""

    hint = "Re-run and type the token's user PIN; tokens lock after a few wrong PINs. Nothing was changed."


class TokenLockedError(TokenError):
    """The token's user PIN is locked after too many wrong attempts."""

    hint = "Unlock the token with its SO PIN (vendor tool) or use the second token; nothing was changed."


class ExpiryWindowError(AirgapError):
    """Something a device needs expires within the warning window (or already has)."""

    exit_code = 12
    hint = (
        "Re-sign before devices stop updating: 'tuf-online export resign-root' for the roots, "
        "'tuf-online export resign-targets' for production targets."
    )


class ConcurrentRunError(AirgapError):
    """Another run holds the lock on the keys tarball or the home this operation would write."""

    exit_code = 13
    hint = "Let the other run finish, then run this command again."


class Refusal(Exception):
    """An HTTP error answer of the sandbox factory server: ``status``, short ``code``, human ``message``
    and optional problem list.  Not an AirgapError: the server turns it into a JSON reply, not an exit code."""

    def __init__(self, status: int, code: str, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.problems = tuple(problems)

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.problems:
            out["problems"] = list(self.problems)
        return out
