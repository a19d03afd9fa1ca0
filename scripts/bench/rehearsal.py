"""Machine time of each rehearsal step, with every step in one process.

The appliance commands run in-process here (typer's test runner) so that the
numbers are the work done, not Python start-up; `tuf-online rehearse` runs the
appliance as a separate process instead.  Goal: total under 2 s with ED25519.

Run: .venv/bin/python scripts/bench/rehearsal.py [--key-type RSA] [--runs 3]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from typer.testing import CliRunner  # noqa: E402

from appliance.cli import app  # noqa: E402
from appliance.commands import register_all  # noqa: E402
from online.rehearsal import Rehearsal  # noqa: E402

register_all(app)
_runner = CliRunner()


def in_process_appliance(args: Sequence[str]) -> None:
    result = _runner.invoke(app, list(args), catch_exceptions=False)
    if result.exit_code != 0:
        raise SystemExit(f"appliance step failed: {result.output}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--key-type", default="ED25519")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    totals: dict[str, list[float]] = {}
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as temp:
            run = Rehearsal(Path(temp), key_type=args.key_type, appliance=in_process_appliance)
            with contextlib.redirect_stdout(io.StringIO()):
                run.run()
            for name, seconds in run.timings:
                totals.setdefault(name, []).append(seconds)
    print(f"rehearsal machine time, {args.key_type}, best of {args.runs} runs")
    best_total = 0.0
    for name, values in totals.items():
        best = min(values)
        best_total += best
        print(f"  {best * 1000:8.1f} ms  {name}")
    print(f"  {best_total * 1000:8.1f} ms  total (goal < 2000 ms: {'met' if best_total < 2 else 'NOT met'})")
    print(f"  ratio to goal: {best_total / 2.0:.2f}")


if __name__ == "__main__":
    main()
