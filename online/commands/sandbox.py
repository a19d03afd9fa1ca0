"""``tuf-online sandbox``: create sandbox factories and serve them on loopback for rehearsals."""

from __future__ import annotations

from pathlib import Path

import typer

from appliance.common.cliframe import add_group

STATE_DIR_HELP = "Sandbox state directory (shared by create-factory and serve)."


def register(app: typer.Typer) -> None:
    add_group(
        app,
        "sandbox",
        "Built-in sandbox factory server: rehearse the whole ceremony against 127.0.0.1.",
        {"create-factory": create_factory, "serve": serve, "faults": faults, "ci-build": ci_build},
    )


def create_factory(
    state_dir: Path = typer.Option(..., "--state-dir", help=STATE_DIR_HELP),
    factory: str = typer.Option(..., "--factory", help="Name of the new factory (lower-case letters, digits, -)."),
    keys_out: Path = typer.Option(..., "--keys-out", help="Where to write the owner's offline keys tarball."),
    key_type: str = typer.Option("ED25519", "--key-type", help="Offline key type: ED25519 or RSA."),
    rsa_bits: int = typer.Option(4096, "--rsa-bits", help="RSA key size when --key-type RSA (>= 2048)."),
    token: str | None = typer.Option(None, "--token", help="API token to require (default: a random one)."),
    offline_targets: bool = typer.Option(
        False, "--offline-targets", help="Also add an offline targets key (root v2, production threshold 2)."
    ),
) -> None:
    """Create a factory as it is after `fioctl keys rotate-root --initial`, and its offline keys tarball."""
    from appliance.core.errors import KeyFormatError, UsageError
    from appliance.core.keys import RSA_MIN_BITS, normalize_keytype

    from ..sandbox.provision import provision_factory

    try:
        kind = normalize_keytype(key_type)
    except KeyFormatError:
        raise UsageError(f"--key-type {key_type!r} is not ED25519 or RSA") from None
    if rsa_bits < RSA_MIN_BITS:
        raise UsageError(f"--rsa-bits {rsa_bits} is below the minimum of {RSA_MIN_BITS}")
    made = provision_factory(
        state_dir,
        factory,
        keys_out,
        key_type=kind,
        rsa_bits=rsa_bits,
        token=token,
        offline_targets=offline_targets,
    )
    ci, prod = made.data.ci_roots[-1], made.data.prod_roots[-1]
    typer.echo(f"factory:       {made.name}")
    typer.echo(f"server token:  {made.token}")
    typer.echo(f"root key id:   {made.root_keyid} ({kind})")
    if made.data.offline_targets_key is not None:
        typer.echo(f"targets key:   {made.data.offline_targets_key.keyid} (offline)")
    typer.echo(f"roots:         CI v{ci.version}, production v{prod.version}")
    typer.echo(f"offline keys:  {made.keys_path} (holds private keys: keep it offline)")
    typer.echo(f"next:          tuf-online sandbox serve --state-dir {made.state_dir}")


def serve(
    state_dir: Path = typer.Option(..., "--state-dir", help=STATE_DIR_HELP),
    host: str = typer.Option("127.0.0.1", "--host", help="Loopback address to bind (127.0.0.0/8 or ::1)."),
    port: int = typer.Option(8765, "--port", help="TCP port (0 picks a free one)."),
    log: bool = typer.Option(True, "--log/--no-log", help="Print one line per request on stderr."),
) -> None:
    """Serve the sandbox factories in STATE_DIR over HTTP until interrupted (Ctrl-C)."""
    import signal
    import sys
    from types import FrameType

    from appliance.core.safetext import visible

    from ..sandbox.server import SandboxServer
    from ..sandbox.state import SandboxState

    def log_line(line: str) -> None:
        # Request lines carry client-chosen paths: the literal-text rule applies.
        sys.stderr.write(visible(line.rstrip("\n")) + "\n")

    server = SandboxServer(state_dir, host, port, log=log_line if log else None)
    url = server.bind()
    names = ", ".join(SandboxState(state_dir).factory_names()) or "(none yet)"
    typer.echo(f"sandbox factory server listening on {url} (factories: {names}); press Ctrl-C to stop")
    sys.stdout.flush()

    def stop_on_term(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop_on_term)  # `kill PID` stops as cleanly as Ctrl-C
    signal.signal(signal.SIGINT, signal.default_int_handler)  # here Ctrl-C is the normal way to stop
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        typer.echo("sandbox factory server stopped")


def faults(
    state_dir: Path = typer.Option(..., "--state-dir", help=STATE_DIR_HELP),
    fail_prod_uploads: int | None = typer.Option(
        None, "--fail-prod-uploads", min=0, help="Make the next N production root uploads fail with HTTP 503."
    ),
) -> None:
    """Test hook: set or show injected faults (stored in STATE_DIR/faults.json, read by a running server)."""
    from appliance.core.errors import UsageError

    from ..sandbox.state import SandboxState

    if not state_dir.is_dir():
        raise UsageError(f"state directory {state_dir} does not exist")
    state = SandboxState(state_dir)
    if fail_prod_uploads is not None:
        state.set_faults(fail_prod_uploads=fail_prod_uploads)
    pending = state.faults()
    typer.echo(f"fail_prod_uploads: {pending.get('fail_prod_uploads', 0)}")


def ci_build(
    state_dir: Path = typer.Option(..., "--state-dir", help=STATE_DIR_HELP),
    factory: str = typer.Option(..., "--factory", help="Sandbox factory name."),
    version: str = typer.Option(..., "--version", help="Target version CI builds."),
    hardware_id: list[str] = typer.Option(["raspberrypi4-64"], "--hardware-id", help="Hardware id (repeatable)."),
    tag: list[str] = typer.Option(["main"], "--tag", help="CI tag of the build (repeatable)."),
) -> None:
    """Stand in for a CI build: add targets of VERSION to the factory's CI targets.json (online-signed)."""
    from datetime import UTC, datetime

    from appliance.core.errors import UsageError
    from appliance.core.metadata import Envelope

    from ..sandbox.cibuild import with_ci_build
    from ..sandbox.state import SandboxState

    state = SandboxState(state_dir)
    if not state.has_factory(factory):
        raise UsageError(f"factory {factory!r} does not exist in {state_dir}")
    current = Envelope.from_bytes(state.targets_bytes(factory), what="CI targets.json")
    online = state.online_key(factory, "targets")
    new = with_ci_build(current, online, version, datetime.now(UTC), hardware_ids=hardware_id, tags=tag)
    state.store_targets(factory, new.to_bytes())
    typer.echo(f"CI targets.json v{new.version}: added version {version} for {', '.join(hardware_id)}")
