"""A full rehearsal ceremony against the sandbox factory server on loopback.

Every step is the real thing: the sandbox serves HTTP on 127.0.0.1, the station
exports over it, a directory stands in for the USB stick, the appliance runs as
a separate process (so it provably needs no network), and the station imports.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from appliance.core.errors import AirgapError
from appliance.core.metadata import Root

from .factories import FactorySetup, Setup

if TYPE_CHECKING:
    from .config import ConnectionOptions
    from .exporting import RequestBuilder

AppRunner = Callable[[Sequence[str]], None]


def subprocess_appliance(args: Sequence[str]) -> None:
    """Run ``tuf-appliance`` as its own process, as on the disconnected laptop."""
    result = subprocess.run(
        [sys.executable, "-m", "appliance", *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=600,
    )
    sys.stdout.write(result.stdout)
    if result.returncode != 0:
        sys.stderr.write(result.stderr)
        raise AirgapError(f"appliance step failed with exit code {result.returncode}")


@dataclass
class Rehearsal:
    workdir: Path
    factory: str = "acme-rehearsal"
    key_type: str = "ED25519"
    with_targets: bool = True
    # False: the factory starts with an offline targets key and only the wave runs (no rotations).
    rotations: bool = True
    # How the factory comes to be (online/factories.py); None: today's sandbox factory.
    factory_setup: FactorySetup | None = None
    # Also run waves sign (sign-targets) on the posted wave with the same key before rollout.
    sign_again: bool = False
    appliance: AppRunner = subprocess_appliance
    timings: list[tuple[str, float]] = field(default_factory=list)
    # Called with "paired" once both identities exist, then with each operation's name after
    # its ceremony: scenarios hook extra appliance steps in here (e.g. moving keys to tokens).
    after: Callable[[str], None] | None = None

    @property
    def stick(self) -> Path:
        return self.workdir / "usb-stick"

    @property
    def keys(self) -> Path:
        return self.workdir / "offline-creds.tgz"

    @property
    def appliance_home(self) -> Path:
        return self.workdir / "appliance-home"

    def _after(self, what: str) -> None:
        if self.after is not None:
            self._step(f"scenario: after {what}", lambda: self.after(what) if self.after else None)

    def _step(self, name: str, action: Callable[[], object]) -> object:
        started = time.perf_counter()
        result = action()
        self.timings.append((name, time.perf_counter() - started))
        return result

    def run(self) -> tuple[Root, Root]:
        from appliance.common.home import Home
        from appliance.common.plaintext import plain_console
        from appliance.core.identity import Identity
        from appliance.core.rootops import RotateRootRequest
        from appliance.core.rotation import RotationParameters

        from .config import ConnectionOptions
        from .exporting import FIRST_TIME, export_request
        from .factories import default_setup, targets_key_setup
        from .importing import import_bundle
        from .sandbox.server import SandboxServer

        out = plain_console()
        work = self.workdir
        work.mkdir(parents=True, exist_ok=True)
        self.stick.mkdir(exist_ok=True)
        state_dir, keys = work / "sandbox-state", work / "offline-creds.tgz"
        station_home, appliance_home = work / "station-home", work / "appliance-home"
        token_file = work / "token"
        setup = self.factory_setup or (default_setup if self.rotations else targets_key_setup)
        made = self._step("create sandbox factory", lambda: setup(state_dir, self.factory, keys, self.key_type))
        assert isinstance(made, Setup)
        out.print(made.description)
        token_file.write_text(made.token)
        token_file.chmod(0o600)
        with SandboxServer(state_dir) as server:
            url = server.url
            out.print(f"sandbox factory server on {url}")

            def identities() -> None:
                Home(station_home, "station").create(Identity("station", "rehearsal-station", os.urandom(32)))
                self.appliance(["init", "--home", str(appliance_home), "--name", "rehearsal-appliance"])
                # No printer in a rehearsal: skipping the backup read-back is the officer's explicit
                # choice, recorded in the transcript like on a real appliance.
                self.appliance(["policy", "--home", str(appliance_home), "--no-require-backup-readback"])
                self.appliance(
                    ["pair", "--home", str(appliance_home), "--peer", str(station_home / "identity.pub"), "--yes"]
                )
                from appliance.core.identity import PeerKey

                peer = PeerKey.from_bytes((appliance_home / "identity.pub").read_bytes())
                Home(station_home, "station").pin(peer)

            self._step("init and pair", identities)
            self._after("paired")
            connection = ConnectionOptions(server=url, factory=self.factory, token_file=token_file)

            def ceremony(operation: str, build: RequestBuilder, appliance_keys: Path) -> None:
                request = self._step(
                    f"station: export {operation}",
                    lambda: export_request(build, out=self.stick, connection=connection, home=station_home),
                )
                assert isinstance(request, Path)
                self._step(
                    f"appliance: {operation}",
                    lambda: self.appliance(
                        [
                            operation,
                            "--home",
                            str(appliance_home),
                            "--keys",
                            str(appliance_keys),
                            "--request",
                            str(request),
                            "--out",
                            str(self.stick),
                            "--yes",
                        ]
                    ),
                )
                response = self.stick / request.name.replace("request-", "response-")
                self._step(
                    f"station: import {operation}",
                    lambda: import_bundle(response, connection=connection, home=station_home),
                )
                self._after(operation)

            if self.rotations:
                rotation = RotationParameters.from_dict({"key_type": self.key_type, "changelog": "rehearsal rotation"})
                sealed = FIRST_TIME if made.first_time else None
                ceremony("rotate-root", lambda c: RotateRootRequest(rotation, sealed), keys)
            if self.rotations and self.with_targets:
                from .exporting import rotate_targets_request

                targets_rotation = RotationParameters.from_dict({"key_type": self.key_type, "changelog": ""})
                ceremony("rotate-targets", lambda c: rotate_targets_request(c, targets_rotation, []), keys)
            if self.with_targets or not self.rotations:
                self._wave(state_dir, keys, connection, ceremony)
            client = connection.resolve().client()
            ci = Root.from_bytes(client.get_root())
            prod = Root.from_bytes(client.get_root(production=True))
        total = sum(seconds for _, seconds in self.timings)
        for name, seconds in self.timings:
            out.print(f"  {seconds * 1000:8.1f} ms  {name}")
        out.print(f"  {total * 1000:8.1f} ms  total")
        return ci, prod

    def _wave(
        self,
        state_dir: Path,
        keys: Path,
        connection: ConnectionOptions,
        ceremony: Callable[[str, RequestBuilder, Path], None],
    ) -> None:
        """CI builds version 2; waves init → appliance init-wave (targets-only tarball) → post → rollout → complete."""
        from datetime import UTC, datetime

        from appliance.core.waves import WaveParameters, wave_expiry

        from .sandbox.cibuild import with_ci_build
        from .sandbox.state import SandboxState
        from .targets_api import complete_wave, get_wave, rollout_wave
        from .wavestation import init_wave_request, sign_targets_request

        def ci_build() -> None:
            state = SandboxState(state_dir)
            current = state.ci_targets(self.factory)
            online = state.online_key(self.factory, "targets")
            state.store_targets(self.factory, with_ci_build(current, online, "2", datetime.now(UTC)).to_bytes())

        self._step("sandbox CI: build version 2", ci_build)
        targets_only = self.workdir / "targets-only.tgz"
        self._step("appliance: copy-targets", lambda: self.appliance(["copy-targets", str(keys), str(targets_only)]))
        params = WaveParameters("wave-1", "2", "production", wave_expiry(datetime.now(UTC), days=30))
        ceremony("init-wave", lambda c: init_wave_request(c, params), targets_only)
        if self.sign_again:
            ceremony("sign-targets", lambda c: sign_targets_request(c, "wave-1"), targets_only)
        api = connection.resolve().client()
        wave = get_wave(api, "wave-1")
        if wave.get("status") != "active":
            raise AirgapError(f"wave-1 is {wave.get('status')!r} after posting, not active")
        options = {"group": "rehearsal", "dry-run": False, "return-uuids": False, "return-names": False}
        self._step("station: waves rollout", lambda: rollout_wave(api, "wave-1", options))
        self._step("station: waves complete (threshold 2)", lambda: complete_wave(api, "wave-1"))
