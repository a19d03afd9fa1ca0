"""Rehearsal scenario ``officers``: three root key holders, each with a station, an appliance and a tarball.

1. Officer A (the factory's first root key) starts a transaction; B and C join with the txid.
2. B and C each add a root key (on their own appliance, into a new tarball of their own).
3. A sets the root threshold to 2; A and B sign (A's key counts for the old root and the new
   one, B's for the new one); A applies: root v2 has three keys, threshold 2.
4. A starts a second transaction, B joins; A deletes C's key; A and B sign (two of the three
   old keys, both of the new ones); A applies: root v3 has A's and B's keys, threshold 2.

Every change and every signature goes through a request and a response bundle; the
appliances run as separate processes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from appliance.core.metadata import Root

from .factories import FactorySetup, default_setup
from .rehearsal import AppRunner, subprocess_appliance


@dataclass
class Officer:
    name: str
    station_home: Path
    appliance_home: Path
    keys: Path
    token_file: Path


@dataclass
class OfficersRehearsal:
    workdir: Path
    factory: str = "acme-officers"
    key_type: str = "ED25519"  # of the keys officers B and C add
    appliance: AppRunner = subprocess_appliance
    timings: list[tuple[str, float]] = field(default_factory=list)
    url: str = ""
    # The factory: today's sandbox factory, or a real one of the zoo (online.factories).  A
    # first-time factory's first transaction is started with --first-time, which writes officer
    # A's tarball holding the first root key (fioctl keys tuf updates init --first-time).
    factory_setup: FactorySetup = default_setup
    first_time: bool = False

    @property
    def stick(self) -> Path:
        return self.workdir / "usb-stick"

    def _step(self, name: str, action: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        result = action()
        self.timings.append((name, time.perf_counter() - started))
        return result

    def _officers(self, first_keys: Path) -> list[Officer]:
        from appliance.common.home import Home
        from appliance.core.identity import Identity, PeerKey

        from .sandbox.state import SandboxState, User

        state = SandboxState(self.state_dir)
        officers = []
        for letter in "abc":
            name = f"officer-{letter}"
            token = os.urandom(20).hex()
            state.add_user(self.factory, User(name, f"Officer {letter.upper()}", token))
            folder = self.workdir / name
            folder.mkdir(exist_ok=True)
            token_file = folder / "token"
            token_file.write_text(token)
            token_file.chmod(0o600)
            keys = first_keys if letter == "a" else folder / "offline-creds.tgz"
            officer = Officer(name, folder / "station-home", folder / "appliance-home", keys, token_file)
            Home(officer.station_home, "station").create(Identity("station", f"{name}-station", os.urandom(32)))
            self.appliance(["init", "--home", str(officer.appliance_home), "--name", f"{name}-appliance"])
            self.appliance(
                ["pair", "--home", str(officer.appliance_home), "--peer", str(officer.station_home / "identity.pub")]
                + ["--yes"]
            )
            peer = PeerKey.from_bytes((officer.appliance_home / "identity.pub").read_bytes())
            Home(officer.station_home, "station").pin(peer)
            officers.append(officer)
        return officers

    def _conn(self, officer: Officer) -> dict[str, Any]:
        return {
            "factory": self.factory,
            "server": self.url,
            "token": None,
            "token_file": officer.token_file,
            "home": officer.station_home,
        }

    def change(self, officer: Officer, command: str, export: Callable[..., None], **options: Any) -> Path:
        """One staged change or signature: station export, the officer's appliance, station import."""
        from .config import ConnectionOptions
        from .importing import import_bundle

        before = set(self.stick.glob("request-*.json"))
        self._step(
            f"{officer.name} station: export {command}",
            lambda: export(out=self.stick, **options, **self._conn(officer)),
        )
        (request,) = set(self.stick.glob("request-*.json")) - before
        args = ["updates", command, "--home", str(officer.appliance_home), "--keys", str(officer.keys)]
        args += ["--request", str(request), "--out", str(self.stick), "--yes"]
        self._step(f"{officer.name} appliance: {command}", lambda: self.appliance(args))
        response = self.stick / request.name.replace("request-", "response-")
        connection = ConnectionOptions(server=self.url, token_file=officer.token_file)
        home = officer.station_home
        self._step(
            f"{officer.name} station: import {command}",
            lambda: import_bundle(response, connection=connection, home=home),
        )
        return response

    @property
    def state_dir(self) -> Path:
        return self.workdir / "sandbox-state"

    def prepare(self) -> list[Officer]:
        """The factory (officer A holds its root key) and three officers with paired homes."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.stick.mkdir(exist_ok=True)
        first_keys = self.workdir / "officer-a-offline-creds.tgz"
        setup = self._step(
            "create sandbox factory", lambda: self.factory_setup(self.state_dir, self.factory, first_keys, "ED25519")
        )
        self.first_time = setup.first_time
        return list(self._step("three officers: users, stations, appliances", lambda: self._officers(first_keys)))

    def start(self, initiator: Officer, message: str, joiners: list[Officer]) -> str:
        from .commands import updates as cli
        from .station import Station
        from .txstation import TxidStore

        first_time, self.first_time = self.first_time, False
        keys_out = initiator.keys if first_time else None
        self._step(
            f"{initiator.name} station: updates init",
            lambda: cli.init(changelog=message, first_time=first_time, keys_out=keys_out, **self._conn(initiator)),
        )
        txid = TxidStore(Station(initiator.station_home)).get(self.factory)
        for officer in joiners:
            self._join(officer, txid)
        return txid

    def _join(self, officer: Officer, txid: str) -> None:
        from .commands import updates as cli

        conn = self._conn(officer)
        self._step(f"{officer.name} station: updates join", lambda: cli.join(txid=txid, **conn))

    def apply(self, officer: Officer) -> None:
        from .commands import updates as cli

        review = {k: v for k, v in self._conn(officer).items() if k != "home"}
        self._step(f"{officer.name} station: updates review", lambda: cli.review(**review))
        self._step(f"{officer.name} station: updates apply", lambda: cli.apply(**self._conn(officer)))

    def roots(self, officer: Officer) -> tuple[Root, Root]:
        from .config import make_client

        client = make_client(self.url, None, officer.token_file, self.factory)
        return Root.from_bytes(client.get_root()), Root.from_bytes(client.get_root(production=True))

    def two_of_three(self, a: Officer, b: Officer, c: Officer) -> None:
        """B and C add root keys, A sets threshold 2, A and B sign, A applies.  On a factory whose
        root has expired (an old factory of the zoo) A first rotates their key, which sets
        expires to one year from now as fioctl's rotate-offline-key does."""
        from appliance.core.timefmt import is_expired

        from .commands import updates as cli

        self.start(a, "two more root key holders, threshold 2", [b, c])
        if is_expired(self.roots(a)[0].meta.expires_at, datetime.now(UTC)):
            self.change(a, "rotate-key", cli.export_rotate_key, role="root", key_type=self.key_type, sign=False)
        self.change(b, "add-key", cli.export_add_key, role="root", key_type=self.key_type)
        self.change(c, "add-key", cli.export_add_key, role="root", key_type=self.key_type)
        self.change(a, "set-threshold", cli.export_set_threshold, threshold=2, role="root", sign=False)
        self.change(a, "sign", cli.export_sign)
        self.change(b, "sign", cli.export_sign)
        self.apply(a)

    def rotate_out(
        self, a: Officer, b: Officer, c: Officer, message: str = "officer C hands over: remove C's root key"
    ) -> None:
        """A removes C's root key; A and B sign; A applies."""
        from .commands import updates as cli

        c_keyid = owned_by(self.roots(a)[0], c.name)
        self.start(a, message, [b])
        self.change(a, "delete-key", cli.export_delete_key, key_id=c_keyid, role="root")
        self.change(a, "sign", cli.export_sign)
        self.change(b, "sign", cli.export_sign)
        self.apply(a)

    def run(self) -> tuple[Root, Root]:
        from appliance.common.plaintext import plain_console

        from .sandbox.server import SandboxServer

        out = plain_console()
        a, b, c = self.prepare()
        with SandboxServer(self.state_dir) as server:
            self.url = server.url
            out.print(f"sandbox factory server on {self.url}")
            self.two_of_three(a, b, c)
            self.rotate_out(a, b, c)
            ci, prod = self.roots(a)
        total = sum(seconds for _, seconds in self.timings)
        for name, seconds in self.timings:
            out.print(f"  {seconds * 1000:8.1f} ms  {name}")
        out.print(f"  {total * 1000:8.1f} ms  total")
        return ci, prod


def owned_by(root: Root, polis_id: str) -> str:
    from appliance.core.txroots import owners

    found = [k for k, owner in owners(root.meta).items() if owner == polis_id]
    if len(found) != 1:
        from appliance.core.errors import VerificationError

        raise VerificationError(f"the root lists {len(found)} keys owned by {polis_id}")
    return found[0]
