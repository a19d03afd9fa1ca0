"""fioctl waves init rules (subcommands/waves/init.go @9b0a6e7), table-driven, with hand-written expectations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from appliance.core.errors import AirgapError, UsageError
from appliance.core.metadata import Envelope
from appliance.core.waves import WaveParameters, build_wave_targets, diff_targets, target_rows, wave_expiry

EXPIRES = "2031-01-01T00:00:00Z"


def target(version: str, hw: str = "rpi", tags: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    custom = {"name": f"{hw}-lmp", "version": version, "hardwareIds": [hw], "tags": tags or ["main"], **extra}
    return {"hashes": {"sha256": version.rjust(64, "0")}, "length": int(version), "custom": custom}


def prod(version: int, targets: dict[str, Any]) -> Envelope:
    return Envelope({"_type": "Targets", "expires": EXPIRES, "targets": targets, "version": version}, ())


def params(version: str = "5", **kw: Any) -> WaveParameters:
    return WaveParameters(kw.pop("name", "w"), version, kw.pop("tag", "production"), EXPIRES, **kw)


def test_first_wave_takes_the_ci_targets_with_the_tag_replaced() -> None:
    built = build_wave_targets(params(), {"rpi-lmp-5": target("5", tags=["main", "devel"], extra=1)}, None)
    assert built.signed == {
        "_type": "Targets",
        "expires": EXPIRES,
        "targets": {
            "rpi-lmp-5": {
                "hashes": {"sha256": "5".rjust(64, "0")},
                "length": 5,
                "custom": {
                    "name": "rpi-lmp",
                    "version": "5",
                    "hardwareIds": ["rpi"],
                    "tags": ["production"],
                    "extra": 1,  # every other custom field is kept
                },
            }
        },
        "version": 5,
    }
    assert built.lacks_delta_stats


def test_current_production_targets_are_the_base() -> None:
    current = prod(4, {"rpi-lmp-4": target("4", tags=["production"])})
    built = build_wave_targets(params(), {"rpi-lmp-5": target("5", **{"delta-stats": {}})}, current)
    assert sorted(built.signed["targets"]) == ["rpi-lmp-4", "rpi-lmp-5"]
    assert built.signed["targets"]["rpi-lmp-4"] == target("4", tags=["production"])
    assert not built.lacks_delta_stats


def test_source_tag_keeps_only_matching_ci_targets() -> None:
    ci = {"a-lmp-5": target("5", "a", ["main"]), "b-lmp-5": target("5", "b", ["devel"])}
    built = build_wave_targets(params(source_tag="devel"), ci, None)
    assert list(built.signed["targets"]) == ["b-lmp-5"]


def test_prune_drops_versions_after_merging() -> None:
    current = prod(4, {"rpi-lmp-3": target("3"), "x-lmp-3": target("3", "x"), "rpi-lmp-4": target("4")})
    built = build_wave_targets(params(prune=("3",)), {"rpi-lmp-5": target("5")}, current)
    assert sorted(built.signed["targets"]) == ["rpi-lmp-4", "rpi-lmp-5"]


@pytest.mark.parametrize(
    ("wave", "ci", "current", "message"),
    [
        (params(), {}, None, "No targets found for version 5"),
        (params(), {"rpi-lmp-5": target("5")}, prod(5, {}), "lower than or equal to production"),
        (params(), {"rpi-lmp-5": target("5")}, prod(6, {}), "lower than or equal to production"),
        (params(), {"rpi-lmp-5": target("5")}, prod(4, {"rpi-lmp-5": target("5")}), "already exists"),
        (
            params(source_tag="devel"),
            {"rpi-lmp-5": target("5")},
            prod(4, {"rpi-lmp-5": target("5")}),
            "already exists",  # checked before the --source-tag filter
        ),
        (params(prune=("2", "3")), {"rpi-lmp-5": target("5")}, prod(4, {"a": target("3")}), "versions: 2"),
        (params(), {"rpi-lmp-5": {"length": 1, "hashes": {}}}, None, "Malformed CI Target custom"),
    ],
    ids=[
        "no-ci-targets",
        "same-version",
        "lower-version",
        "name-collision",
        "collision-before-filter",
        "prune-miss",
        "no-custom",
    ],
)
def test_refusals(wave: WaveParameters, ci: dict, current: Envelope | None, message: str) -> None:
    with pytest.raises(AirgapError, match=message):
        build_wave_targets(wave, ci, current)


@pytest.mark.parametrize("bad", ["0", "-1", "+5", "5a", "", "2147483648"])
def test_version_must_be_a_positive_32_bit_integer(bad: str) -> None:
    with pytest.raises(UsageError):
        params(bad)


def test_pruning_the_wave_version_is_refused() -> None:
    with pytest.raises(UsageError, match="Cannot prune current version"):
        params(prune=("5",))


@pytest.mark.parametrize(
    ("now", "days", "at", "expected"),
    [
        (datetime(2025, 1, 1, 12, 0, 0, 499_999, tzinfo=UTC), None, None, "2026-01-01T12:00:00Z"),
        (datetime(2025, 1, 1, 12, 0, 0, 500_000, tzinfo=UTC), None, None, "2026-01-01T12:00:01Z"),  # Go rounds up
        (datetime(2024, 2, 28, 0, 0, 0, tzinfo=UTC), 2, None, "2024-03-01T00:00:00Z"),  # days are 24 h
        (datetime(2025, 1, 1, tzinfo=UTC), 7, "2030-06-01T02:00:00+02:00", "2030-06-01T00:00:00Z"),  # at wins
        (datetime(2025, 1, 1, tzinfo=UTC), None, "2030-06-01T00:00:00.6Z", "2030-06-01T00:00:01Z"),
    ],
)
def test_expiry(now: datetime, days: int | None, at: str | None, expected: str) -> None:
    assert wave_expiry(now, days=days, at=at) == expected


@pytest.mark.parametrize(("days", "at"), [(0, None), (-1, None), (None, "2020-01-01T00:00:00Z"), (None, "2030-01-01")])
def test_expiry_refusals(days: int | None, at: str | None) -> None:
    with pytest.raises(UsageError):
        wave_expiry(datetime(2025, 1, 1, tzinfo=UTC), days=days, at=at)


def test_diff_and_rows() -> None:
    old = {"a": target("3"), "b": target("4"), "c": target("4", "c")}
    new = {"b": target("4"), "c": {**target("4", "c"), "length": 9}, "d": target("5")}
    diff = diff_targets(old, new)
    assert (diff.added, diff.removed, diff.changed) == (("d",), ("a",), ("c",))
    row = target_rows({"d": target("5")})[0]
    assert (row.name, row.version, row.hardware_ids, row.length, row.sha256) == (
        "d",
        "5",
        ("rpi",),
        5,
        "5".rjust(64, "0"),
    )


def test_parameters_round_trip() -> None:
    p = params(prune=("1", "2"), source_tag="main")
    assert WaveParameters.from_dict(p.to_dict()) == p


def test_every_operation_is_registered_and_init_wave_round_trips() -> None:
    from appliance.core.keys import generate_key
    from appliance.core.operations import KINDS, InitWaveRequest, Operation, Wave, WaveSignatures, request_body

    assert set(KINDS) == set(Operation)
    assert KINDS[Operation.INIT_WAVE].result is WaveSignatures
    p = params()
    ci = {"rpi-lmp-5": target("5")}
    built = build_wave_targets(p, ci, None)
    online = generate_key("ED25519", lambda n: bytes(range(n)))
    body = InitWaveRequest(
        p, online.public_key, ci, None, Wave("w", Envelope(built.signed, ()), {"version": "5", "tag": "production"})
    )
    again = request_body(Operation.INIT_WAVE, body.parameters(), body.payload())
    assert again == body
