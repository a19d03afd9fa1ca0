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
        "full",
        "--scenario",
        help="full or default (rotate-root, rotate-targets, then a wave: init-wave, rollout, complete), root-only, "
        "waves (the wave only), token (root and targets keys on SoftHSM2 PKCS#11 tokens), expiry (roots and "
        "production targets expiring in 10 days: flagged, re-signed, chains checked from every earlier root), "
        "officers (three root key holders go to 2-of-3, then one is rotated out, through root updates "
        "transactions), first-time (take over a factory whose root key is Foundries'), or an era of the zoo of "
        "real factories (tests/vectors/factories/<era>: a-garage-2020, b-fioctl-2021, c-fioctl-2022, "
        "d-fioctl-2023, e-first-time).",
    ),
) -> None:
    """Create a sandbox factory, serve it on 127.0.0.1 and run export → appliance → import."""
    import tempfile

    from appliance.common.plaintext import plain_console
    from appliance.core.errors import UsageError

    from ..scenarios import SCENARIOS

    if scenario not in SCENARIOS:
        raise UsageError(f"unknown scenario {scenario!r}; choose one of {', '.join(sorted(SCENARIOS))}")
    with tempfile.TemporaryDirectory(prefix="tuf-airgap-rehearsal-") as temp:
        ci, prod = SCENARIOS[scenario](workdir or Path(temp), key_type.upper())
        if as_json:
            from appliance.common.render import console

            out = console()
            out.print_json(ci.to_bytes().decode())
            out.print_json(prod.to_bytes().decode())
        else:
            plain_console().print(
                f"rehearsal complete: CI and production roots are at version {ci.version} (tables above)"
            )
