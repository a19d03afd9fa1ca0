"""The PKCS#11 effect: find tokens, log in, sign, generate and import keys (python-pkcs11).

Signatures are those file keys make (Ed25519 via CKM_EDDSA; RSA via CKM_SHA256_RSA_PKCS_PSS,
MGF1-SHA-256, 32-byte salt), each checked against the tarball's public key before use.  The
module comes from ``--module``, else TUF_AIRGAP_PKCS11_MODULE, else the reference's
``module-path``, else a common library present on the machine.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.errors import TokenError, TokenLockedError, TokenMissingError, TokenPinError
from ..core.keys import ED25519, RSA, RSA_PSS_SIGN_SALT, SIGNING_METHOD, PublicKey, SignatureEntry
from ..core.privatekeys import PrivateKey
from ..core.tokenref import Pkcs11Uri, TokenRef

MODULE_ENV = "TUF_AIRGAP_PKCS11_MODULE"
COMMON_MODULES = (
    "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so",
    "/usr/lib/aarch64-linux-gnu/opensc-pkcs11.so",
    "/usr/lib/x86_64-linux-gnu/libykcs11.so",
    "/usr/lib/softhsm/libsofthsm2.so",
)
ED25519_OID = "1.3.101.112"
CKF_USER_PIN_LOCKED = 0x00040000
CKF_TOKEN_INITIALIZED = 0x00000400
_OPEN: list[Any] = []
# One logged-in session per token: PKCS#11 allows a single login per application, and two
# keys of a role may sit on the same token.
_LOGGED_IN: dict[tuple[str, str], tuple[Any, bool]] = {}

PinReader = Callable[["TokenInfo"], str]


def _pkcs11() -> Any:
    try:
        import pkcs11
    except ImportError:
        raise TokenError(
            "PKCS#11 support is not installed",
            hint="Install the appliance with the 'token' extra: pip install 'tuf-airgap[token]'.",
        ) from None
    return pkcs11


def module_path(explicit: str | None = None, uri: Pkcs11Uri | None = None) -> str:
    for candidate in (explicit, os.environ.get(MODULE_ENV), uri.module_path if uri else None):
        if candidate:
            if not Path(candidate).is_file():
                raise TokenError(
                    f"PKCS#11 module {candidate} does not exist", hint="Pass the vendor library: --module."
                )
            return candidate
    for candidate in COMMON_MODULES:
        if Path(candidate).is_file():
            return candidate
    raise TokenError(
        "no PKCS#11 module found",
        hint=f"Pass the token vendor's PKCS#11 library with --module or set {MODULE_ENV}.",
    )


def load(path: str) -> Any:
    try:
        return _pkcs11().lib(path)
    except (OSError, RuntimeError) as exc:
        raise TokenError(f"cannot load PKCS#11 module {path}: {exc}") from None


def _text(value: object) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value).rstrip(" \x00")


@dataclass(frozen=True)
class TokenInfo:
    label: str
    serial: str
    manufacturer: str
    model: str
    flags: int
    handle: Any = None

    @property
    def initialized(self) -> bool:
        return bool(self.flags & CKF_TOKEN_INITIALIZED)

    def describe(self) -> str:
        return f"token '{show(self.label)}' (serial {show(self.serial)}, {show(self.manufacturer)})"


def show(text: str) -> str:
    """Hardware-supplied text made literal: control and format (BiDi) characters shown escaped."""
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in text)


def tokens(lib: Any) -> list[TokenInfo]:
    out = []
    for slot in lib.get_slots(token_present=True):
        try:
            token = slot.get_token()
        except _pkcs11().PKCS11Error:
            continue
        out.append(
            TokenInfo(
                _text(token.label),
                _text(token.serial),
                _text(token.manufacturer_id),
                _text(token.model),
                int(token.flags),
                token,
            )
        )
    return out


def find_token(lib: Any, *, label: str | None, serial: str | None, uri: Pkcs11Uri | None = None) -> TokenInfo:
    manufacturer = uri.text("manufacturer") if uri else None
    model = uri.text("model") if uri else None
    found = [
        t
        for t in tokens(lib)
        if t.initialized
        and (label is None or t.label == label)
        and (serial is None or t.serial == serial)
        and (manufacturer is None or t.manufacturer == manufacturer)
        and (model is None or t.model == model)
    ]
    name = " ".join(f"{k} {v!r}" for k, v in (("label", label), ("serial", serial)) if v is not None)
    if not found:
        present = ", ".join(t.describe() for t in tokens(lib)) or "none"
        raise TokenMissingError(f"no token with {name} is present (present: {present})")
    if len(found) > 1:
        raise TokenError(f"{len(found)} tokens match {name}; give the serial too")
    return found[0]


def login(token: TokenInfo, pin: str, *, rw: bool = False) -> Any:
    """Open a logged-in session; wrong, locked or expired PINs are TokenErrors."""
    errors = _pkcs11().exceptions
    if token.flags & CKF_USER_PIN_LOCKED:
        raise TokenLockedError(f"the user PIN of {token.describe()} is locked")
    try:
        session = token.handle.open(user_pin=pin, rw=rw)
    except (errors.PinIncorrect, errors.PinLenRange, errors.PinInvalid):
        raise TokenPinError(f"{token.describe()} refused the PIN") from None
    except errors.PinLocked:
        raise TokenLockedError(f"the user PIN of {token.describe()} is locked") from None
    except errors.PinExpired:
        raise TokenLockedError(f"the user PIN of {token.describe()} has expired") from None
    except (errors.TokenNotPresent, errors.DeviceRemoved, errors.TokenNotRecognised):
        raise TokenMissingError(f"{token.describe()} was removed") from None
    except errors.PKCS11Error as exc:
        raise TokenError(f"{token.describe()}: login failed ({type(exc).__name__})") from None
    _OPEN.append(session)
    _LOGGED_IN[(token.label, token.serial)] = (session, rw)
    return session


def session_for(token: TokenInfo, read_pin: PinReader, *, rw: bool = False) -> Any:
    """The token's logged-in session, asking for the PIN only when there is none yet."""
    cached = _LOGGED_IN.get((token.label, token.serial))
    if cached is not None:
        if cached[1] or not rw:
            return cached[0]
        cached[0].close()  # read-only so far: log in again for a read-write session
        _OPEN.remove(cached[0])
        del _LOGGED_IN[(token.label, token.serial)]
    return login(token, read_pin(token), rw=rw)


def close_sessions() -> None:
    _LOGGED_IN.clear()
    while _OPEN:
        session = _OPEN.pop()
        try:
            session.close()
        except Exception:  # noqa: S110 - the token may be gone already; nothing left to release
            pass


atexit.register(close_sessions)


def public_key_of(obj: Any) -> PublicKey:
    """The Foundries public key of a token public-key object."""
    p = _pkcs11()
    if obj.key_type == p.KeyType.EC_EDWARDS:
        point = bytes(obj[p.Attribute.EC_POINT])
        if len(point) == 34 and point[:2] == b"\x04\x20":  # DER OCTET STRING, as the standard says
            point = point[2:]
        if len(point) != 32:
            raise TokenError("the token's Ed25519 public key is not 32 bytes")
        return PublicKey.from_parts(ED25519, point.hex())
    if obj.key_type == p.KeyType.RSA:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicNumbers

        n = int.from_bytes(obj[p.Attribute.MODULUS], "big")
        e = int.from_bytes(obj[p.Attribute.PUBLIC_EXPONENT], "big")
        pem = (
            RSAPublicNumbers(e, n)
            .public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )
        return PublicKey.from_parts(RSA, pem.decode("ascii"))
    raise TokenError(f"token key type {obj.key_type!r} is neither Ed25519 nor RSA")


class TokenSigner:
    """A private key object on a logged-in token, behind the core's Signer seam."""

    def __init__(self, public_key: PublicKey, key: Any, token: TokenInfo) -> None:
        self.public_key = public_key
        self.token = token
        self._key = key

    def __repr__(self) -> str:
        return f"TokenSigner({self.public_key.kind}, keyid={self.public_key.keyid[:16]}…, {self.token.describe()})"

    def sign(self, payload: bytes) -> SignatureEntry:
        p = _pkcs11()
        kind = self.public_key.kind
        try:
            if kind == ED25519:
                sig = self._key.sign(payload, mechanism=p.Mechanism.EDDSA)
            else:
                sig = self._key.sign(
                    payload,
                    mechanism=p.Mechanism.SHA256_RSA_PKCS_PSS,
                    mechanism_param=(p.Mechanism.SHA256, p.MGF.SHA256, RSA_PSS_SIGN_SALT),
                )
        except (p.exceptions.TokenNotPresent, p.exceptions.DeviceRemoved, p.exceptions.SessionHandleInvalid):
            raise TokenMissingError(f"{self.token.describe()} was removed while signing") from None
        except p.exceptions.PKCS11Error as exc:
            raise TokenError(f"{self.token.describe()} failed to sign ({type(exc).__name__})") from None
        entry = SignatureEntry(self.public_key.keyid, SIGNING_METHOD[kind], bytes(sig))
        if not self.public_key.verify(entry.method, entry.sig, payload):
            raise TokenError(f"{self.token.describe()} produced a signature that does not verify; not using it")
        return entry


def find_private(session: Any, uri: Pkcs11Uri, token: TokenInfo) -> Any:
    p = _pkcs11()
    query: dict[str, Any] = {"object_class": p.ObjectClass.PRIVATE_KEY}
    if uri.object_id is not None:
        query["id"] = uri.object_id
    if uri.object_label is not None:
        query["label"] = uri.object_label
    try:
        return session.get_key(**query)
    except p.exceptions.NoSuchKey:
        raise TokenMissingError(f"{token.describe()} holds no private key {_object_name(uri)}") from None
    except p.exceptions.MultipleObjectsReturned:
        raise TokenError(f"{token.describe()} holds several private keys {_object_name(uri)}") from None


def _object_name(uri: Pkcs11Uri) -> str:
    parts = []
    if uri.object_label is not None:
        parts.append(f"labelled {uri.object_label!r}")
    if uri.object_id is not None:
        parts.append(f"with id {uri.object_id.hex()}")
    return " ".join(parts)


def present_token(ref: TokenRef, *, module: str | None = None) -> tuple[Any, TokenInfo, Pkcs11Uri]:
    """The first token named by ``ref`` that is present (a key may be on several tokens)."""
    missing: list[str] = []
    for uri in ref.uris:
        lib = load(module_path(module, uri))
        try:
            return lib, find_token(lib, label=uri.token, serial=uri.serial, uri=uri), uri
        except TokenMissingError as exc:
            missing.append(exc.message)
    raise TokenMissingError(
        f"key {ref.keyid[:16]} is on {' or '.join(ref.describe())}, and none is present",
        hint="Insert one of the tokens named above (check label and serial); nothing was changed.",
    )


def unlock(ref: TokenRef, public: PublicKey, read_pin: PinReader, *, module: str | None = None) -> TokenSigner:
    """Log in to the token holding ``ref`` and return a signer checked against ``public``."""
    _, token, uri = present_token(ref, module=module)
    session = session_for(token, read_pin)
    signer = TokenSigner(public, find_private(session, uri, token), token)
    signer.sign(b"tuf-airgap token probe " + public.keyid.encode())  # proves it is this key
    return signer


def list_keys(token: TokenInfo) -> list[tuple[str, bytes, PublicKey | None, str]]:
    """(label, id, public key or None, kind) of the token's public key objects (no login needed)."""
    p = _pkcs11()
    out = []
    try:
        with token.handle.open() as session:
            for obj in session.get_objects({p.Attribute.CLASS: p.ObjectClass.PUBLIC_KEY}):
                try:
                    public: PublicKey | None = public_key_of(obj)
                except Exception:
                    public = None  # a key type the appliance does not sign with; still listed
                kind = public.kind if public else str(getattr(obj, "key_type", "?"))
                out.append((_text(obj.label or ""), bytes(obj.id or b""), public, kind))
    except p.exceptions.PKCS11Error as exc:
        raise TokenError(f"cannot list the keys of {token.describe()} ({type(exc).__name__})") from None
    return out


def generate(session: Any, keytype: str, *, label: str, object_id: bytes, rsa_bits: int) -> PublicKey:
    """A new key pair made inside the token: private half sensitive and never extractable."""
    p = _pkcs11()
    private = {p.Attribute.SENSITIVE: True, p.Attribute.EXTRACTABLE: False, p.Attribute.SIGN: True}
    try:
        if keytype == ED25519:
            from pkcs11.util.ec import encode_named_curve_parameters

            public_template = {p.Attribute.EC_PARAMS: encode_named_curve_parameters(ED25519_OID)}
            pub, _ = session.generate_keypair(
                p.KeyType.EC_EDWARDS,
                store=True,
                label=label,
                id=object_id,
                public_template=public_template,
                private_template=private,
            )
        else:
            pub, _ = session.generate_keypair(
                p.KeyType.RSA, rsa_bits, store=True, label=label, id=object_id, private_template=private
            )
    except p.exceptions.PKCS11Error as exc:
        raise TokenError(f"the token cannot generate a {keytype} key ({type(exc).__name__})") from None
    return public_key_of(pub)


def import_key(session: Any, key: PrivateKey, *, label: str, object_id: bytes) -> None:
    """Store ``key`` on the token as a sensitive, non-extractable private key plus its public key."""
    p = _pkcs11()
    attr = p.Attribute
    common = {attr.TOKEN: True, attr.LABEL: label, attr.ID: object_id}
    secret = key.secret_bytes()
    try:
        if key.kind == ED25519:
            from pkcs11.util.ec import encode_named_curve_parameters

            params = encode_named_curve_parameters(ED25519_OID)
            private = {attr.KEY_TYPE: p.KeyType.EC_EDWARDS, attr.EC_PARAMS: params, attr.VALUE: secret}
            public = {
                attr.KEY_TYPE: p.KeyType.EC_EDWARDS,
                attr.EC_PARAMS: params,
                attr.EC_POINT: b"\x04\x20" + key.public_key.raw_ed25519(),
            }
        else:
            from pkcs11.util.rsa import decode_rsa_private_key

            private = dict(decode_rsa_private_key(secret))
            private.pop(attr.CLASS, None)
            public = {
                attr.KEY_TYPE: p.KeyType.RSA,
                attr.MODULUS: private[attr.MODULUS],
                attr.PUBLIC_EXPONENT: private[attr.PUBLIC_EXPONENT],
            }
            private[attr.KEY_TYPE] = p.KeyType.RSA
        session.create_object(
            {
                **common,
                **private,
                attr.CLASS: p.ObjectClass.PRIVATE_KEY,
                attr.PRIVATE: True,
                attr.SENSITIVE: True,
                attr.EXTRACTABLE: False,
                attr.SIGN: True,
            }
        )
        session.create_object({**common, **public, attr.CLASS: p.ObjectClass.PUBLIC_KEY, attr.VERIFY: True})
    except p.exceptions.PKCS11Error as exc:
        raise TokenError(f"the token refused to store the {key.kind} key ({type(exc).__name__})") from None


def has_object(session: Any, object_id: bytes) -> bool:
    return any(True for _ in session.get_objects({_pkcs11().Attribute.ID: object_id}))


def token_uri(token: TokenInfo, *, label: str, object_id: bytes, module: str | None) -> Pkcs11Uri:
    from ..core.tokenref import key_uri

    uri = key_uri(
        token=token.label, serial=token.serial, manufacturer=token.manufacturer, object_label=label, object_id=object_id
    )
    if module:
        return Pkcs11Uri(uri.path, {"module-path": module.encode()})
    return uri
