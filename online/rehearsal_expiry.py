"""Rehearsal scenario ``expiry``: a factory whose roots and production targets expire in 10 days.

The factory was made 355 days ago (so everything fioctl-style expires one year after
that); its production targets come from a wave completed back then.  The scenario
runs the expiry check (which must flag all three), the resign-root and resign-targets
ceremonies over loopback HTTP with the appliance in its own process, the check
again (which must now pass), and then walks the published root histories as
aktualizr does: from every earlier version to the new root, both today and on a
day after the old roots expired (a device that was offline past the expiry).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from appliance.core.errors import AirgapError, VerificationError
from appliance.core.metadata import Root

from .api import FactoryClient

if TYPE_CHECKING:
    from appliance.core.targetsops import InitWaveRequest
from .rehearsal import AppRunner, subprocess_appliance

DAYS_LEFT = 10


def _history(client: FactoryClient, production: bool) -> list[Root]:
    from .exporting import fetch_history

    return list(fetch_history(client, production))


def check_every_start(history: list[Root], now: datetime) -> int:
    """Every earlier version reaches the newest root under aktualizr's rules; returns the links walked."""
    from appliance.core.verify import verify_root_chain

    walked = 0
    for start in range(len(history) - 1):
        verify_root_chain(history[start], history[start + 1 :], now)
        walked += len(history) - 1 - start
    return walked


@dataclass
class ExpiryRehearsal:
    workdir: Path
    factory: str = "acme-expiry"
    key_type: str = "ED25519"
    appliance: AppRunner = subprocess_appliance
    now: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))
    log: list[str] = field(default_factory=list)

    def _ci_build(self, state_dir: Path, when: datetime) -> None:

        from .sandbox.cibuild import with_ci_build
        from .sandbox.state import SandboxState

        state = SandboxState(state_dir)
        current = state.ci_targets(self.factory)
        built = with_ci_build(current, state.online_key(self.factory, "targets"), "2", when)
        state.store_targets(self.factory, built.to_bytes())

    def _wave_request(self, client: FactoryClient, created: datetime) -> InitWaveRequest:
        from appliance.core.waves import WaveParameters, wave_expiry

        from .wavestation import init_wave_request

        expires = wave_expiry(created, days=365)  # fioctl's default, from the day the factory was made
        return init_wave_request(client, WaveParameters("wave-1", "2", "production", expires))

    def run(self) -> tuple[Root, Root]:
        from appliance.common.home import Home
        from appliance.common.plaintext import plain_console
        from appliance.core.errors import ExpiryWindowError
        from appliance.core.expiry import assess, crossing
        from appliance.core.identity import Identity, PeerKey
        from appliance.core.resign import ResignParameters
        from appliance.core.rootops import ResignRootRequest
        from appliance.core.timefmt import add_years

        from .config import ConnectionOptions
        from .expirycheck import fetch_items
        from .exporting import RequestBuilder, export_request, resign_targets_request
        from .importing import import_bundle
        from .sandbox.provision import provision_factory
        from .sandbox.server import SandboxServer
        from .targets_api import complete_wave

        out = plain_console()
        work = self.workdir
        stick, keys = work / "usb-stick", work / "offline-creds.tgz"
        station_home, appliance_home, token_file = work / "station-home", work / "appliance-home", work / "token"
        stick.mkdir(parents=True, exist_ok=True)
        created = add_years(self.now, -1) + timedelta(days=DAYS_LEFT)
        clock = [created]
        made = provision_factory(
            work / "sandbox-state", self.factory, keys, key_type=self.key_type, offline_targets=True, now=created
        )
        token_file.write_text(made.token)
        token_file.chmod(0o600)
        with SandboxServer(work / "sandbox-state", clock=lambda: clock[0]) as server:
            connection = ConnectionOptions(server=server.url, factory=self.factory, token_file=token_file)
            Home(station_home, "station").create(Identity("station", "rehearsal-station", os.urandom(32)))
            self.appliance(["init", "--home", str(appliance_home), "--name", "rehearsal-appliance"])
            self.appliance(
                ["pair", "--home", str(appliance_home), "--peer", str(station_home / "identity.pub"), "--yes"]
            )
            Home(station_home, "station").pin(PeerKey.from_bytes((appliance_home / "identity.pub").read_bytes()))

            def ceremony(operation: str, build: RequestBuilder) -> None:
                request = export_request(build, out=stick, connection=connection, home=station_home)
                self.appliance(
                    [operation, "--home", str(appliance_home), "--keys", str(keys), "--request", str(request)]
                    + ["--out", str(stick), "--yes"]
                )
                response = stick / request.name.replace("request-", "response-")
                import_bundle(response, connection=connection, home=station_home)
                self.log.append(operation)

            api = connection.resolve().client()
            # Back then: CI built version 2 and a wave made it the production targets, signed
            # offline and expiring with the roots.
            self._ci_build(work / "sandbox-state", created)
            ceremony("init-wave", lambda c: self._wave_request(c, created))
            complete_wave(api, "wave-1")
            clock[0] = self.now  # today: everything expires in DAYS_LEFT days

            late = crossing(assess(fetch_items(api), self.now), 60)
            out.print(f"expiry check: {len(late)} document(s) within 60 days")
            for status in late:
                out.print(f"  {status.describe()}")
            if {s.item.kind for s in late} != {"ci-root", "prod-root", "prod-targets"}:
                raise VerificationError("the expiry check did not flag both roots and the production targets")
            self.log.append("expiry warning")

            old_ci = Root.from_bytes(api.get_root())
            refresh = ResignParameters.from_dict({"changelog": "rehearsal: refresh expiry"})
            ceremony("resign-root", lambda c: ResignRootRequest(refresh))
            ceremony("resign-targets", lambda c: resign_targets_request(c, ResignParameters.from_dict({}), []))

            still = crossing(assess(fetch_items(api), self.now), 60)
            if still:
                raise ExpiryWindowError(f"still within the window after re-signing: {still[0].describe()}")
            self.log.append("expiry clear")

            ci_history, prod_history = _history(api, False), _history(api, True)
            after_old_expiry = old_ci.meta.expires_at + timedelta(days=1)
            for label, history in (("CI", ci_history), ("production", prod_history)):
                for moment in (self.now, after_old_expiry):
                    links = check_every_start(history, moment)
                    out.print(
                        f"{label}: every version 1..{history[-1].version - 1} reaches v{history[-1].version} "
                        f"at {moment:%Y-%m-%d} ({links} links)"
                    )
            self.log.append("chains verified")
            ci, prod = ci_history[-1], prod_history[-1]
        if ci.meta.expires_at <= self.now + timedelta(days=300):
            raise AirgapError("the re-signed root does not reach a year ahead")
        return ci, prod
