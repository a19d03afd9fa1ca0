"""Expiry end to end over real HTTP on 127.0.0.1: the check, the warnings, both re-sign ceremonies."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from appliance.common.home import Home
from appliance.core.identity import Identity, PeerKey
from appliance.core.operations import ResignRootRequest
from appliance.core.resign import ResignParameters
from appliance.core.strictjson import dumps_compact
from appliance.core.timefmt import add_years, format_expires
from appliance.core.verify import verify_root_chain
from online.config import ConnectionOptions
from online.exporting import export_request, fetch_history
from online.importing import import_bundle
from online.rehearsal_expiry import ExpiryRehearsal
from online.sandbox.provision import provision_factory
from online.sandbox.server import SandboxServer
from tests.helpers_ceremony import run, run_operation
from tests.helpers_sandbox import call


def _factory(tmp_path: Path, days_left: int) -> tuple[Path, Path, str]:
    """A sandbox factory whose roots expire ``days_left`` days from now (negative: already expired)."""
    now = datetime.now(UTC).replace(microsecond=0)
    made = provision_factory(
        tmp_path / "state", "acme", tmp_path / "keys.tgz", now=add_years(now, -1) + timedelta(days=days_left)
    )
    token_file = tmp_path / "token"
    token_file.write_text(made.token)
    return tmp_path / "state", token_file, made.token


def _online(url: str, token_file: Path, *args: str) -> tuple[int, str, str]:
    out = run("online", *args, "--server", url, "--factory", "acme", "--token-file", str(token_file))
    return out.returncode, out.stdout, out.stderr


def test_expiry_check_exits_12_within_the_window_and_0_outside(tmp_path: Path) -> None:
    state, token_file, _ = _factory(tmp_path, 10)
    with SandboxServer(state) as server:
        code, stdout, stderr = _online(server.url, token_file, "expiry", "--json")
        assert code == 12, stderr
        report = json.loads(stdout)
        assert report["within_days"] == 60 and report["within_window"] is True
        assert [(i["kind"], i["version"], i["within_window"]) for i in report["items"]] == [
            ("ci-root", 1, True),
            ("prod-root", 1, True),
        ]
        assert 8 <= report["items"][0]["days_left"] <= 10
        assert "error: 2 document(s) of factory acme expire within 60 days" in stderr
        assert "hint: Re-sign before devices stop updating" in stderr
        code, stdout, stderr = _online(server.url, token_file, "expiry", "--within", "5")
        assert code == 0, stderr
        assert "CI root" in stdout and "ok" in stdout
        code, _, stderr = _online(server.url, token_file, "expiry", "--within", "-1")
        assert code == 2
        code, _, stderr = _online(server.url, token_file, "show-root")
        assert code == 0
        assert "warning: CI root v1 expires" in stderr and "re-sign it" in stderr


def test_show_root_is_quiet_outside_the_window(tmp_path: Path) -> None:
    state, token_file, _ = _factory(tmp_path, 200)
    with SandboxServer(state) as server:
        code, _, stderr = _online(server.url, token_file, "show-root", "--production")
        assert code == 0 and "warning" not in stderr


def _paired(tmp_path: Path) -> tuple[Path, Path]:
    station_home, appliance_home = tmp_path / "station", tmp_path / "appliance"
    Home(station_home, "station").create(Identity("station", "s", os.urandom(32)))
    assert run("appliance", "init", "--home", str(appliance_home)).returncode == 0
    out = run("appliance", "pair", "--home", str(appliance_home), "--peer", str(station_home / "identity.pub"), "--yes")
    assert out.returncode == 0, out.stderr
    Home(station_home, "station").pin(PeerKey.from_bytes((appliance_home / "identity.pub").read_bytes()))
    return station_home, appliance_home


def test_resign_root_of_an_expired_factory_warns_and_devices_recover(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state, token_file, _ = _factory(tmp_path, -20)
    station_home, appliance_home = _paired(tmp_path)
    stick = tmp_path / "stick"
    stick.mkdir()
    with SandboxServer(state) as server:
        connection = ConnectionOptions(server=server.url, factory="acme", token_file=token_file)
        params = ResignParameters.from_dict({"changelog": "late"})
        request = export_request(
            lambda c: ResignRootRequest(params), out=stick, connection=connection, home=station_home
        )
        assert "warning: CI root v1 EXPIRED at" in capsys.readouterr().err
        done = run_operation("resign-root", appliance_home, tmp_path / "keys.tgz", request, stick, "--yes")
        assert done.returncode == 0, done.stderr
        assert "warning: the current root v1 already expired at" in done.stderr
        assert "checks expiry on the last root alone" in done.stderr
        assert "days gained" in done.stdout
        response = stick / request.name.replace("request-", "response-")
        import_bundle(response, connection=connection, home=station_home)
        client = connection.resolve().client()
        for production in (False, True):
            history = fetch_history(client, production)
            assert [r.version for r in history] == [1, 2]
            assert history[0].meta.expires_at < datetime.now(UTC)
            verify_root_chain(history[0], history[1:], datetime.now(UTC))  # the expired v1 still walks to v2
            assert history[1].meta.roles == history[0].meta.roles and history[1].meta.keys == history[0].meta.keys


def test_appliance_refuses_a_re_sign_that_shortens_the_expiry(tmp_path: Path) -> None:
    state, token_file, _ = _factory(tmp_path, 300)
    station_home, appliance_home = _paired(tmp_path)
    stick = tmp_path / "stick"
    stick.mkdir()
    with SandboxServer(state) as server:
        connection = ConnectionOptions(server=server.url, factory="acme", token_file=token_file)
        params = ResignParameters.from_dict({"validity_days": 30})
        request = export_request(
            lambda c: ResignRootRequest(params), out=stick, connection=connection, home=station_home
        )
        done = run_operation("resign-root", appliance_home, tmp_path / "keys.tgz", request, stick, "--yes")
        assert done.returncode == 4
        assert "is not later than the current" in done.stderr
        assert not list(stick.glob("response-*"))


def test_the_expiry_scenario_rehearses_warning_resign_and_chain_check(tmp_path: Path) -> None:
    run_ = ExpiryRehearsal(tmp_path)
    ci, prod = run_.run()
    assert run_.log == [
        "init-wave",
        "expiry warning",
        "resign-root",
        "resign-targets",
        "expiry clear",
        "chains verified",
    ]
    assert ci.version == prod.version == 3
    assert ci.meta.extra["x-changelog"]["message"] == "rehearsal: refresh expiry"
    _sandbox_refuses_resigned_targets_that_change_more_than_the_expiry(tmp_path)


def _sandbox_refuses_resigned_targets_that_change_more_than_the_expiry(tmp_path: Path) -> None:
    from online.sandbox.wavestore import WaveStore

    store = WaveStore(tmp_path / "sandbox-state" / "factories" / "acme-expiry")
    current = store.production_targets("production")
    assert current is not None
    token = (tmp_path / "token").read_text()
    later = format_expires(datetime.now(UTC) + timedelta(days=900))
    with SandboxServer(tmp_path / "sandbox-state") as server:
        path = "/ota/factories/acme-expiry/prod-targets/production/resign/"
        for signed, status, code in (
            ({**current.signed, "version": 99, "expires": later}, 409, "not-a-resign"),
            ({**current.signed, "expires": "2020-01-01T00:00:00Z"}, 409, "not-a-resign"),
            ({**current.signed, "expires": later}, 422, "verification-failed"),  # old signatures over other bytes
        ):
            body = dumps_compact({"signed": signed, "signatures": [s.to_dict() for s in current.signatures]})
            reply = call(server.url, "POST", path, token=token, body=body)
            assert (reply.status, reply.json()["error"]) == (status, code)
        reply = call(
            server.url, "POST", "/ota/factories/acme-expiry/prod-targets/nope/resign/", token=token, body=b"{}"
        )
        assert reply.status == 404
    after = store.production_targets("production")
    assert after is not None and after.to_dict() == current.to_dict()
