"""First-time takeover: the factory's root key still is Foundries' first root key.

fioctl ``rotate-root --initial`` (4793182, Dec 2021; rotate_root.go at 4d9a3de) fetches
``GET /ota/factories/<f>/first_root.sec``, writes it as ``tufrepo/keys/first-root.sec``
(Go ``json.Marshal`` of the key object) and the root's listed root key as
``tufrepo/keys/first-root.pub``, then rotates root with it in the same run.  The station
carries the key to us sealed to this appliance's identity (bundle-spec.md §6.4); here it
is checked to be the private half of the current root key and added to the tarball.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

from .errors import BundleError, KeyFormatError, TarballError, VerificationError
from .identity import Identity
from .keysarchive import KEYS_DIR, KeysArchive
from .privatekeys import parse_secret_key_file
from .rootpair import RootPair
from .strictjson import dumps_compact, loads_object

FIRST_ROOT = f"{KEYS_DIR}first-root"
SEALED_FIELD = "first_root_sealed"
MAX_FIRST_ROOT_BYTES = 64 * 1024


def first_root_files(current: RootPair, sec_answer: bytes) -> dict[str, bytes]:
    """``first-root.pub`` and ``first-root.sec`` as fioctl writes them, from the server's answer."""
    obj = loads_object(sec_answer, max_bytes=MAX_FIRST_ROOT_BYTES, what="first_root.sec")
    keyval = obj.get("keyval")
    if not isinstance(keyval, Mapping) or not isinstance(keyval.get("private"), str):
        raise KeyFormatError("first_root.sec from the server holds no keyval.private")
    sec = dumps_compact({"keytype": obj.get("keytype"), "keyval": {"private": keyval["private"]}})
    key = parse_secret_key_file(sec, what="first_root.sec")
    meta = current.ci.meta
    listed = meta.keyid_for(key.public_key)
    if listed is None or listed not in meta.roles["root"].keyids:
        raise VerificationError(
            "the first root key from the server is not a root key of the factory's current root"
            " (rule: a first-time takeover starts from the root key the factory still uses)",
            hint="The factory's root was rotated already; use its offline keys tarball instead of --first-time.",
        )
    public = meta.keys[listed]
    pub = dumps_compact({"keytype": public.keytype, "keyval": {"public": public.public}})
    return {f"{FIRST_ROOT}.pub": pub, f"{FIRST_ROOT}.sec": sec}


def open_first_root(identity: Identity, sealed: str) -> bytes:
    """The server's first_root.sec answer, opened from the request's base64 sealed box."""
    try:
        box = base64.b64decode(sealed, validate=True)
    except (binascii.Error, ValueError):
        raise BundleError(f"request field {SEALED_FIELD!r} is not valid base64") from None
    return identity.open_sealed(box, what="the sealed first root key")


def with_first_root(archive: KeysArchive, files: Mapping[str, bytes]) -> KeysArchive:
    for name, content in files.items():
        if name in archive.files and archive.files[name] != content:
            raise TarballError(
                f"the tarball already holds a different {name} (rule: members are never changed)",
                hint="Use a new tarball path for the first-time takeover, or the tarball that already holds it.",
            )
        archive = archive.with_file(name, content)
    return archive
