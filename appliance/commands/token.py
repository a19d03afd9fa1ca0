"""``tuf-appliance token``: offline keys on PKCS#11 hardware tokens — list, generate, move.

A key on a token keeps its ``.pub`` member in the tarball and gets a ``.p11`` reference member
(bundle-spec.md section 5) in place of its ``.sec``; rotate-root, rotate-targets and
sign-targets then sign through the token after asking for its PIN.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ..common.identitycli import HOME_HELP

if TYPE_CHECKING:
    from ..core.keys import PublicKey
    from ..core.keysarchive import KeysArchive
    from ..core.privatekeys import PrivateKey
    from ..shell.token import TokenInfo

PIN_FD_HELP = (
    "For scripted rehearsals only: read token PINs (one line per token login) from this inherited file "
    "descriptor. Without it the PIN is typed at the terminal; it is never taken from arguments or the environment."
)
MODULE_HELP = "PKCS#11 library of the token (default: TUF_AIRGAP_PKCS11_MODULE, the reference's module-path, or a "
MODULE_HELP += "common one such as opensc-pkcs11.so)."
STORY_PAPER = "paper backup read back, then loaded into hardware token(s)"
STORY_ON_DEVICE = "generated on the token; no copy exists anywhere else"
_TOKEN_SPEC = re.compile(r"^(?P<label>[^:]{1,32})(?::(?P<serial>[^:]{1,16}))?$")


def register(app: typer.Typer) -> None:
    token = typer.Typer(help="Offline keys on PKCS#11 hardware tokens: list, generate, move.", no_args_is_help=True)
    token.command("list")(list_tokens)
    token.command("generate")(generate_key)
    token.command("move")(move_key)
    app.add_typer(token, name="token")


def _say(text: str) -> None:
    # Plain lines, never wrapped: officers compare whole key ids and serials.  Token labels,
    # serials and manufacturers come from the hardware: the literal-text rule applies.
    import sys

    from ..core.safetext import for_terminal

    sys.stdout.write(for_terminal(text, sys.stdout.encoding) + "\n")


def _parse_token_spec(spec: str) -> tuple[str, str | None]:
    from ..core.errors import UsageError

    match = _TOKEN_SPEC.fullmatch(spec)
    if match is None:
        raise UsageError(f"--token {spec!r} must be LABEL or LABEL:SERIAL")
    return match["label"], match["serial"]


def _object_id(value: str | None, keyid: str) -> bytes:
    from ..core.errors import UsageError

    if value is None:
        return bytes.fromhex(keyid[:16])  # first 8 bytes of the key id: unique enough, short for tools
    if not re.fullmatch(r"(?:[0-9a-fA-F]{2}){1,32}", value):
        raise UsageError("--id must be 1 to 32 bytes in hex")
    return bytes.fromhex(value)


# --- list ------------------------------------------------------------------------------------


def list_tokens(module: str | None = typer.Option(None, "--module", help=MODULE_HELP)) -> None:
    """Show every token present (label, serial, manufacturer) and its keys (label, id, type, key id)."""
    from ..shell.token import list_keys, load, module_path, show, tokens

    lib = load(module_path(module))
    found = tokens(lib)
    if not found:
        _say("no token present")
    for info in found:
        if not info.initialized:
            _say(f"uninitialized token in a free slot ({show(info.manufacturer)} {show(info.model)})")
            continue
        _say(f"{info.describe()}  model {show(info.model)}")
        keys = list_keys(info)
        if not keys:
            _say("  (no public key objects)")
        for label, object_id, public, kind in keys:
            keyid = public.keyid if public is not None else "-"
            _say(f"  key '{show(label)}'  id {object_id.hex() or '-'}  {kind}  key id {keyid}")


# --- shared: the tarball and the appliance home ------------------------------------------------


def _load(keys: Path, home: Path | None, command: str) -> KeysArchive:
    """Lock the appliance home and the tarball for the rest of the command, then read the tarball."""
    from ..common.durable import read_capped
    from ..common.home import default_home
    from ..common.lock import hold_file, hold_home
    from ..core.keysarchive import MAX_COMPRESSED_BYTES, KeysArchive

    hold_home(home or default_home("appliance"), command)
    hold_file(keys, "keys tarball", command)
    return KeysArchive.from_bytes(read_capped(keys, MAX_COMPRESSED_BYTES, what="keys tarball"))


def _store(keys: Path, archive: KeysArchive, keyid: str, *, must_be_gone: bool) -> bytes:
    """Replace the tarball durably; the re-read copy must reference ``keyid`` on its token(s)
    (and, after a move, hold no private half of it) and sign through the unlocked token."""
    import time

    from ..common.durable import write_durable
    from ..core.errors import DurabilityError
    from ..core.keysarchive import KeysArchive

    data = archive.to_bytes(mtime=int(time.time()))
    probe = b"tuf-airgap token reference probe " + keyid.encode()

    def check(raw: bytes) -> None:
        reread = KeysArchive.from_bytes(raw).with_bindings(archive.bindings)
        entry = next((e for e in reread.entries if e.keyid == keyid), None)
        if entry is None or entry.token is None:
            raise DurabilityError(f"re-read tarball lacks the token reference of key {keyid[:16]}")
        if must_be_gone and (entry.private is not None or entry.base + ".sec" in reread.files):
            raise DurabilityError(f"re-read tarball still holds the private key {keyid[:16]}")
        signer = entry.bound
        if signer is None:
            raise DurabilityError(f"re-read token reference of key {keyid[:16]} is not bound to the token")
        sig = signer.sign(probe)
        if not entry.public.verify(sig.method, sig.sig, probe):
            raise DurabilityError(f"key {keyid[:16]} on the token does not sign as the tarball's public key")

    write_durable(keys, data, replace=True, verify=check, label="tarball")
    return data


def _record(home: Path | None, record: dict[str, Any]) -> None:
    """Append a record to the appliance's sealed transcript (same chain the ceremonies extend)."""
    from datetime import UTC, datetime

    from ..common.home import Home, default_home
    from ..shell.transcriptlog import append_record

    place = Home(home or default_home("appliance"), "appliance")
    seal = append_record(place, place.identity(), record, datetime.now(UTC))
    _say(f"transcript seal: {seal}")


def _custody_text(keyid: str, kind: str, story: str, tokens: list[dict[str, str]], evidence: str) -> str:
    lines = [
        "TUF-AIRGAP TOKEN CUSTODY RECORD (no secret material)",
        f"key id:   {keyid}",
        f"key type: {kind}",
        f"backup:   {story}",
        f"evidence: {evidence}",
    ]
    lines += [f"token:    label {t['label']}  serial {t['serial']}  {t['manufacturer']}" for t in tokens]
    return "\n".join(lines) + "\n"


def _write_custody(path: Path | None, text: str) -> None:
    if path is None:
        return
    from ..common.durable import write_durable

    write_durable(path, text.encode("utf-8"), replace=False, mode=0o644, label="custody-record")
    _say(f"wrote custody record {path}")


def _token_dict(info: TokenInfo) -> dict[str, str]:
    from ..shell.token import show

    return {"label": show(info.label), "serial": show(info.serial), "manufacturer": show(info.manufacturer)}


# --- generate --------------------------------------------------------------------------------


def generate_key(
    keys: Path = typer.Option(..., "--keys", help="Offline keys tarball; the new key's .pub and .p11 are added."),
    token: str = typer.Option(..., "--token", help="Token as LABEL or LABEL:SERIAL."),
    role: str = typer.Option(..., "--role", help="Role the key is meant for (root or targets); names the member."),
    key_type: str = typer.Option("ED25519", "--key-type", help="ED25519 or RSA."),
    rsa_bits: int = typer.Option(4096, "--rsa-bits", help="RSA modulus size."),
    label: str | None = typer.Option(None, "--label", help="Object label on the token (default tuf-ROLE-KEYID)."),
    object_id: str | None = typer.Option(None, "--id", help="Object id on the token in hex (default: random)."),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
    record_out: Path | None = typer.Option(None, "--record-out", help="Write a custody record (text) here."),
    pin_fd: int | None = typer.Option(None, "--pin-fd", help=PIN_FD_HELP),
    module: str | None = typer.Option(None, "--module", help=MODULE_HELP),
) -> None:
    """Generate a key inside a token (sensitive, never extractable) and reference it in the tarball."""
    import secrets

    from ..core.errors import UsageError
    from ..core.keys import KEYTYPES, RSA_MIN_BITS, public_key_file
    from ..core.keysarchive import KEYS_DIR
    from ..core.tokenref import TokenRef
    from ..shell.pin import PinSource
    from ..shell.token import TokenSigner, find_private, find_token, generate, load, login, module_path, token_uri

    kind = key_type.upper()
    if kind not in KEYTYPES:
        raise UsageError("--key-type must be ED25519 or RSA")
    if role not in ("root", "targets"):
        raise UsageError("--role must be root or targets")
    if rsa_bits < RSA_MIN_BITS:
        raise UsageError(f"--rsa-bits must be at least {RSA_MIN_BITS}")
    archive = _load(keys, home, "tuf-appliance token generate")
    token_label, serial = _parse_token_spec(token)
    path = module_path(module)
    info = find_token(load(path), label=token_label, serial=serial)
    _say(f"generating a {kind} key on {info.describe()}")
    session = login(info, PinSource(pin_fd)(info), rw=True)
    oid = _object_id(object_id, secrets.token_hex(8))
    name = label or f"tuf-{role}-{oid.hex()}"
    public: PublicKey = generate(session, kind, label=name, object_id=oid, rsa_bits=rsa_bits)
    uri = token_uri(info, label=name, object_id=oid, module=module)
    base = f"{KEYS_DIR}fioctl-{role}-{public.keyid}"
    ref = TokenRef(public.keyid, public.kind, (uri,))
    signer = TokenSigner(public, find_private(session, uri, info), info)
    updated = archive.with_file(base + ".pub", public_key_file(public)).with_token_reference(base, ref)
    updated = updated.with_bindings({base: signer})
    _store(keys, updated, public.keyid, must_be_gone=False)
    tokens = [_token_dict(info)]
    _record(
        home,
        {
            "operation": "token-generate",
            "keyid": public.keyid,
            "keytype": public.kind,
            "role": role,
            "backup": STORY_ON_DEVICE,
            "tokens": tokens,
        },
    )
    _write_custody(
        record_out,
        _custody_text(public.keyid, public.kind, STORY_ON_DEVICE, tokens, "none: the key never left the token"),
    )
    _say(f"new {role} key {public.keyid} on {info.describe()}, referenced as {base}.p11")
    _say(
        "This key has no backup: if the token is lost or broken, so is the key. Give the role a second key "
        "(for example one generated on a second token) and a threshold that survives losing one."
    )


# --- move ------------------------------------------------------------------------------------


def move_key(
    keys: Path = typer.Option(..., "--keys", help="Offline keys tarball; the key's .sec is replaced by a .p11."),
    key_id: str = typer.Option(..., "--key-id", help="The key to move: at least 4 hex digits of its key id."),
    token: list[str] = typer.Option(..., "--token", help="Destination token LABEL or LABEL:SERIAL; repeatable."),
    backup_scan: list[Path] = typer.Option([], "--backup-scan", help="Photo of the key's backup QR code(s)."),
    backup_typed: list[Path] = typer.Option([], "--backup-typed", help="Typed lines of the key's backup."),
    backup_shares: list[Path] = typer.Option([], "--backup-shares", help="Shamir share files of the key."),
    label: str | None = typer.Option(None, "--label", help="Object label on the tokens (default tuf-KEYID16)."),
    object_id: str | None = typer.Option(None, "--id", help="Object id on the tokens in hex (default: key id bytes)."),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
    record_out: Path | None = typer.Option(None, "--record-out", help="Write a custody record (text) here."),
    yes: bool = typer.Option(False, "--yes", help="Skip the typed confirmation (scripted runs)."),
    pin_fd: int | None = typer.Option(None, "--pin-fd", help=PIN_FD_HELP),
    module: str | None = typer.Option(None, "--module", help=MODULE_HELP),
) -> None:
    """Load a tarball key into one or more tokens after its paper backup was read back, then remove
    the private key from the tarball (keeping its .pub and a .p11 reference)."""
    from ..common.terminal import confirm_typed
    from ..core.errors import BackupPendingError, KeyMissingError, TokenError, UsageError
    from ..core.keys import Signer
    from ..core.paper import confirm_backup
    from ..core.tokenref import TokenRef
    from ..shell.pin import PinSource
    from ..shell.readback import read_backups
    from ..shell.token import (
        TokenSigner,
        find_private,
        find_token,
        has_object,
        import_key,
        load,
        login,
        module_path,
        token_uri,
    )

    prefix = key_id.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{4,64}", prefix):
        raise UsageError("--key-id must be at least 4 hex digits of a key id")
    specs = [_parse_token_spec(t) for t in token]
    if len(set(specs)) != len(specs):
        raise UsageError("the same --token is named twice")
    archive = _load(keys, home, "tuf-appliance token move")
    found = [e for e in archive.entries if e.private is not None and e.keyid.startswith(prefix)]
    if not found:
        raise KeyMissingError(f"the keys tarball holds no private key whose id starts with {prefix}")
    if len(found) > 1:
        raise UsageError(f"--key-id {prefix} matches several keys; give more digits")
    entry = found[0]
    key: PrivateKey | None = entry.private
    assert key is not None
    if not (backup_scan or backup_typed or backup_shares):
        raise BackupPendingError(
            f"key {entry.keyid[:16]} leaves the tarball only after its paper backup was read back",
            hint=f"Print it with 'tuf-appliance backup print --keys {keys} --key-id {entry.keyid[:16]} --out "
            "sheet.pdf', then re-run with --backup-scan PHOTO or --backup-typed FILE.",
        )
    evidence = None
    problems = []
    for backup in read_backups(backup_scan, backup_typed, backup_shares).backups:
        try:
            confirm_backup(archive, entry.keyid, backup.secret)
        except Exception as exc:  # noqa: BLE001 - keep looking; report the first problem if none fits
            problems.append(exc)
            continue
        evidence = f"backup read back and verified ({backup.source})"
        break
    if evidence is None:
        if problems:
            raise problems[0]
        raise BackupPendingError(f"no backup of key {entry.keyid[:16]} was found in the inputs")
    _say(evidence)

    path = module_path(module)
    lib = load(path)
    infos = [find_token(lib, label=label_, serial=serial) for label_, serial in specs]
    if len({i.serial for i in infos}) != len(infos):
        raise UsageError("two --token options name the same token")
    oid = _object_id(object_id, entry.keyid)
    name = label or f"tuf-{entry.keyid[:16]}"
    _say(f"key {entry.keyid} ({entry.public.kind}, {entry.base}.sec) goes onto:")
    for info in infos:
        _say(f"  {info.describe()} as object '{name}' id {oid.hex()}")
    _say("then its .sec leaves the tarball; only the tokens and the paper backup can sign as it.")
    confirm_typed(f"move {entry.keyid[:16]}", question="Check the key and the tokens above.", assume_yes=yes)

    pins = PinSource(pin_fd)
    sessions = []
    for info in infos:  # every PIN and object id is checked before anything is stored
        session = login(info, pins(info), rw=True)
        present = has_object(session, oid)
        if present and not _holds_key(session, info, name, oid, entry.public):
            raise TokenError(f"{info.describe()} already holds another object with id {oid.hex()}; pass another --id")
        sessions.append((info, session, present))
    uris = []
    bound: Signer | None = None
    for info, session, present in sessions:
        uri = token_uri(info, label=name, object_id=oid, module=module)
        if present:  # an interrupted earlier move already stored this very key here
            _say(f"{info.describe()} already holds this key (earlier, interrupted move)")
        else:
            import_key(session, key, label=name, object_id=oid)
        signer = TokenSigner(entry.public, find_private(session, uri, info), info)
        signer.sign(b"tuf-airgap token import probe")  # verified against the tarball's public key
        uris.append(uri)
        bound = bound or signer
        _say(f"stored and test-signed on {info.describe()}")
    assert bound is not None
    ref = TokenRef(entry.keyid, entry.public.kind, tuple(uris))
    updated = archive.with_token_reference(entry.base, ref).with_bindings({entry.base: bound})
    _store(keys, updated, entry.keyid, must_be_gone=True)
    tokens = [_token_dict(info) for info in infos]
    _record(
        home,
        {
            "operation": "token-move",
            "keyid": entry.keyid,
            "keytype": entry.public.kind,
            "backup": STORY_PAPER,
            "evidence": evidence,
            "tokens": tokens,
        },
    )
    _write_custody(record_out, _custody_text(entry.keyid, entry.public.kind, STORY_PAPER, tokens, evidence))
    _say(f"{entry.base}.sec removed from {keys}; {entry.base}.p11 names {len(uris)} token(s)")
    _say(
        "The old tarball's bytes may remain on this disk's free blocks: keep the appliance disk (and any "
        "older copy of the tarball) as safe as the paper backup, or wipe it."
    )


def _holds_key(session: Any, info: TokenInfo, label: str, oid: bytes, public: PublicKey) -> bool:
    """True when the token's private key with this label and id signs as ``public``."""
    from ..core.errors import AirgapError
    from ..core.tokenref import key_uri
    from ..shell.token import TokenSigner, find_private

    uri = key_uri(token=info.label, serial=info.serial, object_label=label, object_id=oid)
    try:
        TokenSigner(public, find_private(session, uri, info), info).sign(b"tuf-airgap token reuse probe")
    except AirgapError:
        return False
    return True
