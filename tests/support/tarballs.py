"""Building tar streams member by member, hostile ones included (tests and the corpus generator)."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Member:
    """One tar member; ``type`` is a tarfile type constant, ``pax`` extra PAX header fields."""

    name: str
    data: bytes = b""
    type: bytes = tarfile.REGTYPE
    linkname: str = ""
    pax: Mapping[str, str] | None = None
    devmajor: int = 0
    devminor: int = 0


def tar_bytes(
    members: Iterable[Member | tuple[str, bytes]], *, fmt: int = tarfile.PAX_FORMAT, dir_mode: int = 0o755
) -> bytes:
    """An uncompressed tar of ``members`` in order: regular files carry their data, others none."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:", format=fmt) as archive:
        for item in members:
            member = item if isinstance(item, Member) else Member(item[0], item[1])
            info = tarfile.TarInfo(member.name)
            info.type = member.type
            info.linkname = member.linkname
            info.mode = dir_mode if member.type == tarfile.DIRTYPE else 0o600
            info.devmajor, info.devminor = member.devmajor, member.devminor
            if member.pax:
                info.pax_headers = dict(member.pax)
            if member.type in (tarfile.REGTYPE, tarfile.AREGTYPE):
                info.size = len(member.data)
                archive.addfile(info, io.BytesIO(member.data))
            else:
                archive.addfile(info)
    return raw.getvalue()
