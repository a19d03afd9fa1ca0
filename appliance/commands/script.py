"""``tuf-appliance script OPERATION``: the ceremony script the officer and the witnesses follow."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    app.command("script")(script)


def script(
    operation: str = typer.Argument(..., help="rotate-root, rotate-targets, sign-targets, init-wave or pair."),
    out: Path | None = typer.Option(None, "--out", help="Write it to FILE.pdf or FILE.txt instead of the screen."),
) -> None:
    """Print the steps of a ceremony: who does what, what to compare, what to write down, where to sign."""
    import sys

    from ..common.durable import write_durable
    from ..core.ceremonyscript import script_lines
    from ..core.errors import UsageError

    lines = script_lines(operation)
    if out is None:
        sys.stdout.write("\n".join(lines) + "\n")
        return
    suffix = out.suffix.lower()
    if suffix == ".txt":
        data = ("\n".join(lines) + "\n").encode("utf-8")
    elif suffix == ".pdf":
        from ..shell import printsheet

        data = printsheet.render_pdf(printsheet.document_pages(lines, f"ceremony script: {operation}"))
    else:
        raise UsageError(f"--out {out.name}: a script is written as .pdf or .txt", hint="")
    if out.exists():
        raise UsageError(f"--out {out}: the file already exists; a script is never overwritten", hint="")
    write_durable(out, data, replace=False, mode=0o644, label="script")
    sys.stdout.write(f"wrote the {operation} ceremony script to {out}\n")
