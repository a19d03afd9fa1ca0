"""The rehearsal scenario registry: every era of the zoo is a scenario, and the help names them all."""

from __future__ import annotations

import inspect

from online.commands.rehearse import rehearse
from online.factories import zoo_eras
from online.scenarios import SCENARIOS


def test_every_zoo_era_and_the_named_scenarios_are_registered() -> None:
    eras = {p.name for p in zoo_eras()}
    assert eras == {"a-garage-2020", "b-fioctl-2021", "c-fioctl-2022", "d-fioctl-2023", "e-first-time"}
    named = {"default", "full", "root-only", "waves", "token", "expiry", "officers", "first-time"}
    assert set(SCENARIOS) == named | eras


def test_rehearse_help_lists_every_scenario() -> None:
    option = inspect.signature(rehearse).parameters["scenario"].default
    for name in SCENARIOS:
        assert name in option.help, name
