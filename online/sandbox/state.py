"""The sandbox's state directory: one folder per factory, shared by ``create-factory`` and ``serve``.

Layout (every file JSON, mode 0600, written temp → fsync → rename)::

    <state-dir>/faults.json                          optional, test hook: {"fail_prod_uploads": N}
    <state-dir>/factories/<name>/factory.json
        {"name", "created", "token", "polis-id"?, "users"?: [{"token", "polis-id", "name"}, ...]}
    <state-dir>/factories/<name>/first-root.json     the first root key file (.sec), as the real server keeps it:
                                                     handed out by first_root.sec and updates init --first-time
    <state-dir>/factories/<name>/updates.json        the active root updates transaction, if any
    <state-dir>/factories/<name>/online-keys.json    {"targets"|"snapshot"|"timestamp": <.sec key file object>}
    <state-dir>/factories/<name>/targets.json        CI targets.json signed by the online targets key
    <state-dir>/factories/<name>/ci/<n>.root.json    CI root version n, bytes as uploaded
    <state-dir>/factories/<name>/prod/<n>.root.json  production root version n

A new factory is assembled in a temporary folder and renamed into place, so a
server reading the directory never sees half a factory.  Root files are never
replaced: version n, once written, stays.  Mutations inside one server process
are serialised by the server's lock; two servers on one state directory are not
supported.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from appliance.common.durable import read_capped, write_durable
from appliance.core.errors import InputFormatError, SandboxStateError, UsageError
from appliance.core.factoryname import is_factory_name
from appliance.core.metadata import MAX_METADATA_BYTES, Envelope, Root
from appliance.core.privatekeys import PrivateKey, secret_key_file
from appliance.core.strictjson import JsonObject, dumps_pretty, loads_object

from .factory import ONLINE_ROLES, FactoryData, owner_polis_id

FACTORIES = "factories"
FAULTS_FILE = "faults.json"
FIRST_ROOT_FILE = "first-root.json"
FAULT_KINDS = ("fail_prod_uploads",)
_ROOT_FILE = re.compile(r"^([1-9][0-9]{0,8})\.root\.json\Z")
_SMALL_FILE = 64 * 1024


_USER_FIELDS = ("polis-id", "name", "token")


@dataclass(frozen=True)
class User:
    polis_id: str
    name: str
    token: str

    def __repr__(self) -> str:
        return f"User(polis_id={self.polis_id!r}, name={self.name!r})"


@dataclass(frozen=True)
class FactoryInfo:
    name: str
    created: str
    token: str
    polis_id: str  # the owner's user id (users/self, x-changelog, x-key-owners)
    users: tuple[User, ...] = ()

    def __repr__(self) -> str:
        return f"FactoryInfo(name={self.name!r}, created={self.created!r})"

    def all_users(self) -> tuple[User, ...]:
        """The owner (the factory token) first, then the users added later."""
        return (User(self.polis_id, "Factory owner", self.token), *self.users)


def _load_json(path: Path, what: str) -> JsonObject:
    data = read_capped(path, _SMALL_FILE, what=what)
    try:
        return loads_object(data, max_bytes=_SMALL_FILE, what=f"{what} {path}")
    except InputFormatError as exc:
        hint = "The sandbox state is damaged; create a new state directory."
        raise SandboxStateError(exc.message, hint=hint) from exc


class SandboxState:
    """Read and write one state directory.  Callers serialise writes (the server holds a lock)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    # --- factories -----------------------------------------------------------------

    @property
    def factories_dir(self) -> Path:
        return self.directory / FACTORIES

    def factory_dir(self, name: str) -> Path:
        return self.factories_dir / name

    def factory_names(self) -> list[str]:
        if not self.factories_dir.is_dir():
            return []
        return sorted(p.name for p in self.factories_dir.iterdir() if is_factory_name(p.name) and p.is_dir())

    def has_factory(self, name: str) -> bool:
        return is_factory_name(name) and (self.factory_dir(name) / "factory.json").is_file()

    def info(self, name: str) -> FactoryInfo:
        obj = _load_json(self.factory_dir(name) / "factory.json", "factory file")
        fields = (obj.get("name"), obj.get("created"), obj.get("token"))
        if not all(isinstance(v, str) for v in fields):
            raise SandboxStateError(f"factory file of {name} lacks name, created or token")
        users = []
        for entry in obj.get("users", []):
            if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) for k in _USER_FIELDS):
                raise SandboxStateError(f"factory file of {name} has a malformed user")
            users.append(User(entry["polis-id"], entry["name"], entry["token"]))
        polis_id = obj.get("polis-id", owner_polis_id(name))
        if not isinstance(polis_id, str):
            raise SandboxStateError(f"factory file of {name} has a malformed polis-id")
        return FactoryInfo(str(fields[0]), str(fields[1]), str(fields[2]), polis_id, tuple(users))

    def add_user(self, name: str, user: User) -> None:
        info = self.info(name)
        if any(u.polis_id == user.polis_id or u.token == user.token for u in info.all_users()):
            raise UsageError(f"factory {name} already has user {user.polis_id!r} (or that token)")
        users = [{"polis-id": u.polis_id, "name": u.name, "token": u.token} for u in (*info.users, user)]
        obj: JsonObject = {"name": info.name, "created": info.created, "token": info.token}
        obj.update({"polis-id": info.polis_id, "users": users})
        write_durable(self.factory_dir(name) / "factory.json", dumps_pretty(obj), replace=True, label="sandbox-factory")

    def first_root_sec(self, name: str) -> bytes | None:
        """The first root key file, bytes as the server hands them out (``first_root.sec``)."""
        path = self.factory_dir(name) / FIRST_ROOT_FILE
        if not path.is_file():
            return None
        return read_capped(path, _SMALL_FILE, what="stored first root key")

    def first_root_key(self, name: str) -> PrivateKey | None:
        data = self.first_root_sec(name)
        if data is None:
            return None
        try:
            obj = loads_object(data, max_bytes=_SMALL_FILE, what="first root key file")
        except InputFormatError as exc:
            raise SandboxStateError(exc.message, hint="The sandbox state is damaged.") from exc
        keyval = obj.get("keyval")
        if not isinstance(keyval, dict):
            raise SandboxStateError(f"first root key file of {name} is malformed")
        return PrivateKey.from_parts(obj.get("keytype"), keyval.get("private"))

    def first_root_keyid(self, name: str) -> str | None:
        """The id under which the current CI root lists the first root key as a root key; None once
        that key was rotated out (or is not known), when the server hands it out no more."""
        first = self.first_root_key(name)
        ci = self.root(name, production=False)
        if first is None or ci is None:
            return None
        meta = ci.meta
        found = (k for k in meta.roles["root"].keyids if k in meta.keys and meta.keys[k].same_key(first.public_key))
        return next(found, None)

    def save_online_keys(self, name: str, keys: dict[str, PrivateKey]) -> None:
        obj = {role: loads_object(secret_key_file(key)) for role, key in keys.items()}
        path = self.factory_dir(name) / "online-keys.json"
        write_durable(path, dumps_pretty(obj), replace=True, label="sandbox-keys")

    def store_targets(self, name: str, data: bytes) -> None:
        write_durable(self.factory_dir(name) / "targets.json", data, replace=True, label="sandbox-targets")

    # --- the root updates transaction ----------------------------------------------

    def transaction(self, name: str) -> JsonObject | None:
        path = self.factory_dir(name) / "updates.json"
        if not path.is_file():
            return None
        cap = MAX_METADATA_BYTES * 4
        return loads_object(read_capped(path, cap, what="transaction"), max_bytes=cap)

    def save_transaction(self, name: str, tx: JsonObject | None) -> None:
        path = self.factory_dir(name) / "updates.json"
        if tx is None:
            path.unlink(missing_ok=True)
            return
        write_durable(path, dumps_pretty(tx), replace=True, label="sandbox-transaction")

    def online_key(self, name: str, role: str) -> PrivateKey:
        obj = _load_json(self.factory_dir(name) / "online-keys.json", "online keys file")
        entry = obj.get(role)
        if not isinstance(entry, dict) or not isinstance(entry.get("keyval"), dict):
            raise SandboxStateError(f"online keys file of {name} has no {role} key")
        return PrivateKey.from_parts(entry.get("keytype"), entry["keyval"].get("private"))

    def add_factory(self, data: FactoryData) -> Path:
        """Write a whole factory atomically; refuse if one of that name exists."""
        target = self.factory_dir(data.name)
        if target.exists():
            raise UsageError(
                f"factory {data.name} already exists in {self.directory}",
                hint="Choose another --factory name or another --state-dir.",
            )
        self.factories_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.factories_dir / f".new-{data.name}-{os.getpid()}"
        if tmp.exists():
            shutil.rmtree(tmp)
        try:
            tmp.mkdir(mode=0o700)
            (tmp / "ci").mkdir(mode=0o700)
            (tmp / "prod").mkdir(mode=0o700)
            info = {"name": data.name, "created": data.created, "token": data.token, "polis-id": data.polis_id}
            write_durable(tmp / "factory.json", dumps_pretty(info), replace=False, label="sandbox-factory")
            keys = {
                role: loads_object(secret_key_file(data.online_keys[role]))
                for role in ONLINE_ROLES
                if role in data.online_keys
            }
            write_durable(tmp / "online-keys.json", dumps_pretty(keys), replace=False, label="sandbox-keys")
            if data.targets is not None:
                write_durable(tmp / "targets.json", data.targets.to_bytes(), replace=False, label="sandbox-targets")
            if data.first_root_sec is not None:
                write_durable(tmp / FIRST_ROOT_FILE, data.first_root_sec, replace=False, label="sandbox-first-root")
            for sub, chain in (("ci", data.ci_roots), ("prod", data.prod_roots)):
                for root in chain:
                    path = tmp / sub / f"{root.version}.root.json"
                    write_durable(path, root.to_bytes(), replace=False, label="sandbox-root")
            os.rename(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return target

    def remove_factory(self, name: str) -> None:
        """Undo ``add_factory`` (used when a later step of factory creation fails)."""
        if is_factory_name(name):
            shutil.rmtree(self.factory_dir(name), ignore_errors=True)

    # --- roots ---------------------------------------------------------------------

    def _roots_dir(self, name: str, production: bool) -> Path:
        return self.factory_dir(name) / ("prod" if production else "ci")

    def root_versions(self, name: str, production: bool) -> list[int]:
        folder = self._roots_dir(name, production)
        if not folder.is_dir():
            return []
        found = (_ROOT_FILE.match(p.name) for p in folder.iterdir())
        return sorted(int(m.group(1)) for m in found if m)

    def current_version(self, name: str, production: bool) -> int:
        versions = self.root_versions(name, production)
        if not versions:
            raise SandboxStateError(f"factory {name} has no {'production' if production else 'CI'} root")
        return versions[-1]

    def root_bytes(self, name: str, production: bool, version: int | None = None) -> bytes | None:
        """Stored bytes of a root (the current one when ``version`` is None); None when absent."""
        if version is None:
            version = self.current_version(name, production)
        path = self._roots_dir(name, production) / f"{version}.root.json"
        if not path.is_file():
            return None
        return read_capped(path, MAX_METADATA_BYTES, what="stored root")

    def root(self, name: str, production: bool, version: int | None = None) -> Root | None:
        data = self.root_bytes(name, production, version)
        if data is None:
            return None
        return Root.from_bytes(data, what=f"stored {'production' if production else 'CI'} root of {name}")

    def store_root(self, name: str, production: bool, version: int, data: bytes) -> None:
        path = self._roots_dir(name, production) / f"{version}.root.json"
        write_durable(path, data, replace=False, label="sandbox-root")

    def targets_bytes(self, name: str) -> bytes | None:
        path = self.factory_dir(name) / "targets.json"
        if not path.is_file():
            return None
        return read_capped(path, MAX_METADATA_BYTES, what="stored targets.json")

    def ci_targets(self, name: str) -> Envelope:
        """The stored CI targets.json; a factory seeded without its online keys has none."""
        data = self.targets_bytes(name)
        if data is None:
            raise SandboxStateError(
                f"factory {name} was seeded without its online keys: it has no CI targets.json",
                hint="Seed it with --online-keys to build CI targets and waves.",
            )
        return Envelope.from_bytes(data, what="stored CI targets.json")

    def has_online_key(self, name: str, role: str) -> bool:
        obj = _load_json(self.factory_dir(name) / "online-keys.json", "online keys file")
        return isinstance(obj.get(role), dict)

    # --- fault injection (test hook) -----------------------------------------------

    @property
    def faults_path(self) -> Path:
        return self.directory / FAULTS_FILE

    def faults(self) -> dict[str, int]:
        if not self.faults_path.is_file():
            return {}
        obj = _load_json(self.faults_path, "faults file")
        return {k: v for k, v in obj.items() if k in FAULT_KINDS and isinstance(v, int) and not isinstance(v, bool)}

    def set_faults(self, **counts: int) -> None:
        for kind, count in counts.items():
            if kind not in FAULT_KINDS or count < 0:
                raise UsageError(f"unknown fault {kind!r} or negative count")
        current = self.faults()
        current.update(counts)
        self.directory.mkdir(parents=True, exist_ok=True)
        write_durable(self.faults_path, dumps_pretty(current), replace=True, label="sandbox-faults")

    def take_fault(self, kind: str) -> int | None:
        """Consume one pending fault of ``kind``; return how many remain, or None if none was pending."""
        pending = self.faults().get(kind, 0)
        if pending <= 0:
            return None
        self.set_faults(**{kind: pending - 1})
        return pending - 1
