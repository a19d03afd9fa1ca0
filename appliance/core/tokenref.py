"""Where a private key lives when it is not in the tarball: a PKCS#11 reference member.

A key moved onto (or generated on) a hardware token keeps its usual ``.pub`` member in the
tarball; instead of ``.sec`` it has ``tufrepo/keys/<name>.p11``, compact JSON
``{"keyid": <hex>, "keytype": "ED25519"|"RSA", "uri": <PKCS#11 URI>}``.  The URI follows
RFC 7512: ``pkcs11:`` then ``;``-separated path attributes, optionally ``?`` and
``&``-separated query attributes, values percent-encoded.  The reference names the token
(``token`` label, ``serial``) and the private key object (``id``, ``object`` label,
``type=private``); it never holds a PIN (``pin-value``/``pin-source`` are refused: the PIN
is typed at the terminal).  A key on several tokens has one URI per token (``uris``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .errors import InputFormatError, KeyFormatError
from .keys import normalize_keytype
from .strictjson import JsonObject, dumps_compact, loads_object

SCHEME = "pkcs11:"
MAX_REFERENCE_BYTES = 16 * 1024
MAX_URIS = 8
# RFC 7512 section 2.3: path and query attribute names (vendor ones start with "x-").
PATH_ATTRIBUTES = frozenset(
    {
        "token",
        "manufacturer",
        "serial",
        "model",
        "library-manufacturer",
        "library-description",
        "library-version",
        "object",
        "type",
        "id",
        "slot-description",
        "slot-manufacturer",
        "slot-id",
    }
)
QUERY_ATTRIBUTES = frozenset({"module-name", "module-path", "pin-source", "pin-value"})
SECRET_QUERY = frozenset({"pin-source", "pin-value"})
OBJECT_TYPES = frozenset({"public", "private", "cert", "secret-key", "data"})
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_HEX = frozenset("0123456789abcdefABCDEF")


def pct_decode(value: str, *, what: str, query: bool = False) -> bytes:
    """Decode a path value (``query``: a query value, where ``/``, ``?`` and ``|`` may stand as they are)."""
    forbidden = '"<>\\^`{}#;' if query else '"<>\\^`{|}#/?;'

    out = bytearray()
    index = 0
    while index < len(value):
        ch = value[index]
        if ch == "%":
            pair = value[index + 1 : index + 3]
            if len(pair) != 2 or not set(pair) <= _HEX:
                raise KeyFormatError(f"PKCS#11 URI {what}: bad percent escape at offset {index}")
            out.append(int(pair, 16))
            index += 3
            continue
        if ord(ch) < 0x21 or ord(ch) > 0x7E or ch in forbidden:
            raise KeyFormatError(f"PKCS#11 URI {what}: character {ch!r} must be percent-encoded")
        out.append(ord(ch))
        index += 1
    return bytes(out)


def pct_encode(value: bytes, *, all_bytes: bool = False) -> str:
    """Percent-encode; ``all_bytes`` encodes every byte (the RFC's advice for ``id``)."""
    return "".join(chr(b) if not all_bytes and chr(b) in _UNRESERVED else f"%{b:02x}" for b in value)


def _text(raw: bytes, name: str) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise KeyFormatError(f"PKCS#11 URI attribute {name} is not UTF-8") from None
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        raise KeyFormatError(f"PKCS#11 URI attribute {name} holds control characters")
    return text


@dataclass(frozen=True)
class Pkcs11Uri:
    """A parsed RFC 7512 URI: path and query attributes as decoded bytes."""

    path: Mapping[str, bytes]
    query: Mapping[str, bytes] = field(default_factory=dict)

    def text(self, name: str) -> str | None:
        raw = self.path.get(name)
        return None if raw is None else _text(raw, name)

    @property
    def token(self) -> str | None:
        return self.text("token")

    @property
    def serial(self) -> str | None:
        return self.text("serial")

    @property
    def object_label(self) -> str | None:
        return self.text("object")

    @property
    def object_id(self) -> bytes | None:
        return self.path.get("id")

    @property
    def module_path(self) -> str | None:
        raw = self.query.get("module-path")
        return None if raw is None else _text(raw, "module-path")

    def emit(self) -> str:
        order = sorted(self.path, key=_path_order)
        parts = [f"{n}={pct_encode(self.path[n], all_bytes=n == 'id')}" for n in order]
        uri = SCHEME + ";".join(parts)
        if self.query:
            uri += "?" + "&".join(f"{n}={pct_encode(self.query[n])}" for n in sorted(self.query))
        return uri


_ORDER = ("token", "manufacturer", "model", "serial", "object", "type", "id")


def _path_order(name: str) -> tuple[int, str]:
    return (_ORDER.index(name) if name in _ORDER else len(_ORDER), name)


def _attributes(section: str, separator: str, allowed: frozenset[str], what: str) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    if not section:
        return out
    for item in section.split(separator):
        name, eq, value = item.partition("=")
        if not eq or not name:
            raise KeyFormatError(f"PKCS#11 URI {what} attribute {item!r} is not name=value")
        if name not in allowed and not name.startswith("x-"):
            raise KeyFormatError(f"PKCS#11 URI has unknown {what} attribute {name!r}")
        if name in out:
            raise KeyFormatError(f"PKCS#11 URI names {what} attribute {name!r} twice")
        out[name] = pct_decode(value, what=f"attribute {name}", query=separator == "&")
    return out


def parse_uri(uri: str) -> Pkcs11Uri:
    """Parse an RFC 7512 PKCS#11 URI; refuse PIN-bearing query attributes."""
    if len(uri) > 4096:
        raise KeyFormatError("PKCS#11 URI is too long")
    if uri[: len(SCHEME)].lower() != SCHEME:
        raise KeyFormatError("PKCS#11 URI must start with 'pkcs11:'")
    rest = uri[len(SCHEME) :]
    path_part, _, query_part = rest.partition("?")
    path = _attributes(path_part, ";", PATH_ATTRIBUTES, "path")
    query = _attributes(query_part, "&", QUERY_ATTRIBUTES, "query")
    secret = SECRET_QUERY & set(query)
    if secret:
        raise KeyFormatError(f"PKCS#11 URI carries {sorted(secret)[0]}; a reference must never hold or point at a PIN")
    kind = path.get("type")
    if kind is not None and kind.decode("ascii", "replace") not in OBJECT_TYPES:
        raise KeyFormatError(f"PKCS#11 URI type {kind!r} is not one of {sorted(OBJECT_TYPES)}")
    parsed = Pkcs11Uri(path, query)
    for name in path:
        if name != "id":
            parsed.text(name)
    return parsed


def key_uri(
    *, token: str, serial: str, object_label: str, object_id: bytes, manufacturer: str | None = None
) -> Pkcs11Uri:
    """The URI the appliance writes for a private key object on a token."""
    path: dict[str, bytes] = {"token": token.encode(), "serial": serial.encode()}
    if manufacturer:
        path["manufacturer"] = manufacturer.encode()
    path.update({"object": object_label.encode(), "type": b"private", "id": object_id})
    return Pkcs11Uri(path)


@dataclass(frozen=True)
class TokenRef:
    """The ``.p11`` member: which key (``keyid``, ``keytype``) is on which token(s)."""

    keyid: str
    keytype: str
    uris: tuple[Pkcs11Uri, ...]

    def to_member(self) -> bytes:
        obj: JsonObject = {"keyid": self.keyid, "keytype": self.keytype}
        if len(self.uris) == 1:
            obj["uri"] = self.uris[0].emit()
        else:
            obj["uris"] = [u.emit() for u in self.uris]
        return dumps_compact(obj)

    def describe(self) -> list[str]:
        return [f"token {u.token or '?'} (serial {u.serial or '?'})" for u in self.uris]


def parse_reference(data: bytes, *, what: str = "token reference") -> TokenRef:
    try:
        obj = loads_object(data, max_bytes=MAX_REFERENCE_BYTES, what=what)
    except InputFormatError as exc:
        raise KeyFormatError(exc.message) from None
    allowed = {"keyid", "keytype", "uri", "uris"}
    unknown = set(obj) - allowed
    if unknown:
        raise KeyFormatError(f"{what} has unknown fields {sorted(unknown)}")
    keyid, keytype = obj.get("keyid"), obj.get("keytype")
    if not isinstance(keyid, str) or len(keyid) != 64 or not set(keyid) <= set("0123456789abcdef"):
        raise KeyFormatError(f"{what}: keyid must be 64 lowercase hex digits")
    kind = normalize_keytype(keytype)
    if ("uri" in obj) == ("uris" in obj):
        raise KeyFormatError(f"{what} needs exactly one of 'uri' or 'uris'")
    raw = [obj["uri"]] if "uri" in obj else obj["uris"]
    if not isinstance(raw, list | tuple) or not 1 <= len(raw) <= MAX_URIS:
        raise KeyFormatError(f"{what}: 'uris' must list 1 to {MAX_URIS} URIs")
    uris = []
    for item in raw:
        if not isinstance(item, str):
            raise KeyFormatError(f"{what}: a URI must be a string")
        try:
            uris.append(parse_uri(item))
        except KeyFormatError as exc:
            raise KeyFormatError(f"{what}: {exc.message}") from None
    for uri in uris:
        if uri.object_id is None and uri.object_label is None:
            raise KeyFormatError(f"{what}: a URI must name the key object by id or object label")
        if uri.token is None and uri.serial is None:
            raise KeyFormatError(f"{what}: a URI must name the token by label or serial")
    return TokenRef(keyid, kind, tuple(uris))
