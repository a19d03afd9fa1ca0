"""``tuf-online rehearse``: the whole ceremony against the sandbox on loopback."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    app.command("rehearse")(rehearse)


def rehearse(
    workdir: Path | None = typer.Option(None, "--workdir", help="Keep everything here (default: a temp dir)."),
    key_type: str = typer.Option("ED25519", "--key-type", help="Key type for the factory and the new root key."),
    as_json: bool = typer.Option(False, "--json", help="Print the final roots as JSON."),
    scenario: str = typer.Option(
        "default", "--scenario", help="Which factory to rehearse on ('all' runs every scenario; 'list' names them)."
    ),
) -> None:
    """Create a sandbox factory, serve it on 127.0.0.1 and run export → appliance → import."""
    import tempfile

    from appliance.common.render import console

    from ..rehearsal import Rehearsal
    from ..scenarios import SCENARIOS
    from ..scenarios import scenario as lookup

    out = console()
    if scenario == "list":
        for name in sorted(SCENARIOS):
            out.print(f"{name:20} {SCENARIOS[name].summary}", markup=False)
        return
    names = sorted(SCENARIOS) if scenario == "all" else [lookup(scenario).name]
    for name in names:
        with tempfile.TemporaryDirectory(prefix="tuf-airgap-rehearsal-") as temp:
            base = workdir / name if workdir is not None and len(names) > 1 else workdir
            run = Rehearsal(base or Path(temp), key_type=key_type.upper(), scenario=name)
            ci, prod = run.run()
            if as_json:
                out.print_json(ci.to_bytes().decode())
                out.print_json(prod.to_bytes().decode())
            else:
                out.print(f"rehearsal {name} complete: CI and production roots are at version {ci.version}")
