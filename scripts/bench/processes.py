"""Commands as officers run them: each a separate process, next to its baselines.

Every figure is the median wall time of N runs, measured in rounds: each round runs the
baselines (`python -c pass`, `python -c "import typer"`) and every command once, so
machine noise hits all of them alike.  The ratio column divides by the typer baseline
(the floor of any typer CLI).  The second column is the same command inside this
process (typer's CliRunner, imports already done): the work itself, without start-up.

Fixtures come from one `tuf-online rehearse --workdir` (a sandbox factory on loopback):
its keys tarballs, appliance home and already answered request bundles (answering one
again re-verifies bundle, tarball and root history, then rewrites the same response).
The rehearsal itself is timed as a process too; it runs every appliance step as a
separate `tuf-appliance` process.

Run: .venv/bin/python scripts/bench/processes.py [--runs 7] [--python PATH] [--skip-rehearsal]
`--python` selects the interpreter of the install to measure (e.g. a venv with a
non-editable wheel install: scripts/bench/wheel-venv.sh).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

GOAL_STARTUP = 1.5
GOAL_REHEARSAL = 1.0


def wall(command: Sequence[str], cwd: Path | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, cwd=cwd)
    return time.perf_counter() - started


def request_for(stick: Path, operation: str) -> Path:
    for path in sorted(stick.glob("request-*.json")):
        if json.loads(path.read_bytes())["bundle"]["operation"] == operation:
            return path
    raise SystemExit(f"no {operation} request in {stick}")


def commands(fixture: Path, scratch: Path) -> dict[str, list[str]]:
    home, keys, stick = fixture / "appliance-home", fixture / "offline-creds.tgz", fixture / "usb-stick"
    targets_only = fixture / "targets-only.tgz"
    answered = ["--home", str(home), "--out", str(scratch / "stick"), "--yes"]
    return {
        "--help": ["--help"],
        "keys": ["keys", "--keys", str(keys)],
        "copy-targets": ["copy-targets", str(keys), str(scratch / "copy.tgz")],
        "backup print --out x.txt": ["backup", "print", "--keys", str(keys), "--out", str(scratch / "sheet.txt")],
        "rotate-root (answered)": [
            "rotate-root", "--keys", str(keys), "--request", str(request_for(stick, "rotate-root")), *answered,
        ],
        "init-wave (answered)": [
            "init-wave", "--keys", str(targets_only), "--request", str(request_for(stick, "init-wave")),
            *answered,
        ],
    }  # fmt: skip


def reset(scratch: Path) -> None:
    for name in ("copy.tgz", "sheet.txt"):
        (scratch / name).unlink(missing_ok=True)
    for path in scratch.glob("sheet*"):
        path.unlink()
    shutil.rmtree(scratch / "stick", ignore_errors=True)
    (scratch / "stick").mkdir()


def in_process(args: list[str], scratch: Path) -> Callable[[], None]:
    from typer.testing import CliRunner

    from appliance.cli import app
    from appliance.commands import register_all

    register_all(app)
    runner = CliRunner()

    def run() -> None:
        reset(scratch)
        with contextlib.redirect_stderr(io.StringIO()):
            runner.invoke(app, args)

    return run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--python", default=sys.executable, help="Interpreter of the install to measure.")
    parser.add_argument("--skip-rehearsal", action="store_true")
    args = parser.parse_args()
    python = args.python
    bindir = Path(python).parent
    with tempfile.TemporaryDirectory(prefix="bench-processes-") as temp:
        work = Path(temp)
        fixture, scratch = work / "rehearsal", work / "scratch"
        scratch.mkdir()
        online = [str(bindir / "tuf-online")] if (bindir / "tuf-online").exists() else [python, "-m", "online"]
        appliance = (
            [str(bindir / "tuf-appliance")] if (bindir / "tuf-appliance").exists() else [python, "-m", "appliance"]
        )
        subprocess.run([*online, "rehearse", "--workdir", str(fixture)], check=True, capture_output=True)
        cases = commands(fixture, scratch)
        baselines = {
            "python -c pass": [python, "-c", "pass"],
            "python -c 'import typer'": [python, "-c", "import typer"],
        }
        times: dict[str, list[float]] = {name: [] for name in [*baselines, *cases]}
        for _ in range(args.runs):
            for name, command in baselines.items():
                times[name].append(wall(command))
            for name, argv in cases.items():
                reset(scratch)
                times[name].append(wall([*appliance, *argv], cwd=scratch))
        rehearsal: list[float] = []
        if not args.skip_rehearsal:
            for _ in range(max(1, args.runs // 2)):
                rehearsal_dir = work / f"rehearse-{len(rehearsal)}"
                rehearsal.append(wall([*online, "rehearse", "--workdir", str(rehearsal_dir)]))
        inproc = {
            name: statistics.median(_repeat(in_process(argv, scratch), args.runs)) for name, argv in cases.items()
        }
    floor = statistics.median(times["python -c 'import typer'"])
    print(f"processes, median of {args.runs} rounds ({python})")
    print(f"  {'command':34s} {'process':>10s} {'÷ typer':>8s} {'in-process':>11s}")
    for name, values in times.items():
        median = statistics.median(values)
        extra = f"{inproc[name] * 1000:8.1f} ms" if name in inproc else ""
        label = name if name in baselines else f"tuf-appliance {name}"
        print(f"  {label:34s} {median * 1000:7.1f} ms {median / floor:7.2f}x {extra:>11s}")
    worst = max(statistics.median(times[name]) / floor for name in cases)
    verdict = "met" if worst <= GOAL_STARTUP else "NOT met"
    print(f"worst command / import typer: {worst:.2f}x (goal <= {GOAL_STARTUP}x: {verdict})")
    if rehearsal:
        median = statistics.median(rehearsal)
        verdict = "met" if median <= GOAL_REHEARSAL else "NOT met"
        print(
            f"tuf-online rehearse as a process: {median:.2f} s (median of {len(rehearsal)}; goal <= 1.0 s: {verdict})"
        )


def _repeat(action: Callable[[], None], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        out.append(time.perf_counter() - started)
    return out


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    main()
