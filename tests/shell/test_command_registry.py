"""Start-up registers only the module of the command named on the command line; the table must be exact."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest
import typer

import appliance.commands
import online.commands


def _names(package: str, module: str) -> set[str]:
    app = typer.Typer()
    importlib.import_module(f"{package}.{module}").register(app)
    commands = {c.name or c.callback.__name__ for c in app.registered_commands if c.callback is not None}
    return commands | {g.name for g in app.registered_groups if g.name is not None}


@pytest.mark.parametrize("package", [appliance.commands, online.commands], ids=["appliance", "online"])
def test_every_command_maps_to_the_module_that_registers_it(package) -> None:
    registered = {name: module for module in package.MODULES for name in _names(package.__name__, module)}
    assert registered == package.COMMANDS


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["keys", "--keys", "x"], ["inspect"]),
        (["copy-targets"], ["targets"]),
        (["sign-targets"], ["waves"]),
        (["--help"], None),
        (["nope"], None),
        ([], None),
    ],
)
def test_a_named_command_registers_only_its_module(argv: list[str], expected: list[str] | None) -> None:
    app = typer.Typer()
    appliance.commands.register_for(argv)(app)
    registered = {c.name for c in app.registered_commands} | {g.name for g in app.registered_groups}
    modules = expected or list(appliance.commands.MODULES)
    assert registered == set().union(*(_names("appliance.commands", m) for m in modules))


@pytest.mark.parametrize("prog", ["appliance", "online"])
def test_help_still_lists_every_command(prog: str) -> None:
    package = appliance.commands if prog == "appliance" else online.commands
    result = subprocess.run([sys.executable, "-m", prog, "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for name in package.COMMANDS:
        assert name in result.stdout, name
