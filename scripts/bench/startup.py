"""Start-up cost of the CLI: `tuf-appliance --help` against `python -c "import typer"`.

Goal: `python -m appliance --help` at most 1.5 x the wall time of importing typer alone
(the floor for any typer CLI).  With --importtime, also lists what `--help` imports
that the typer floor does not (python -X importtime), heaviest first, to show where
start-up goes.

Run: .venv/bin/python scripts/bench/startup.py [--runs 10] [--importtime]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Sequence

GOAL = 1.5


def wall(command: Sequence[str], runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - started)
    return best


def import_times(command: Sequence[str]) -> dict[str, tuple[int, int]]:
    """module -> (self µs, cumulative µs) from python -X importtime."""
    done = subprocess.run([sys.executable, "-X", "importtime", *command], capture_output=True, text=True, check=True)
    out: dict[str, tuple[int, int]] = {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative_us, name = (part.strip() for part in line[len("import time:") :].split("|"))
        out[name.strip()] = (int(self_us), int(cumulative_us))
    return out


def top_level(name: str) -> str:
    return name.split(".")[0]


def report_imports() -> None:
    floor = import_times(["-c", "import typer"])
    help_ = import_times(["-m", "appliance", "--help"])
    extra = {name: times for name, times in help_.items() if name not in floor}
    by_package: dict[str, int] = {}
    for name, (self_us, _) in extra.items():
        by_package[top_level(name)] = by_package.get(top_level(name), 0) + self_us
    print("\nimported by --help beyond `import typer`, self time summed per top-level package:")
    for package, micros in sorted(by_package.items(), key=lambda kv: -kv[1])[:12]:
        print(f"  {micros / 1000:7.1f} ms  {package}")
    print("heaviest single imports beyond the floor (cumulative):")
    for name, (_, cumulative) in sorted(extra.items(), key=lambda kv: -kv[1][1])[:12]:
        print(f"  {cumulative / 1000:7.1f} ms  {name}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--importtime", action="store_true", help="Also show which imports make --help slow.")
    args = parser.parse_args()
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "python -c 'import typer'": [sys.executable, "-c", "import typer"],
        "tuf-appliance --help": [sys.executable, "-m", "appliance", "--help"],
        "tuf-online --help": [sys.executable, "-m", "online", "--help"],
    }
    times = {label: wall(command, args.runs) for label, command in commands.items()}
    print(f"start-up wall time, best of {args.runs} runs")
    for label, seconds in times.items():
        print(f"  {seconds * 1000:8.1f} ms  {label}")
    ratio = times["tuf-appliance --help"] / times["python -c 'import typer'"]
    verdict = "met" if ratio <= GOAL else "NOT met"
    print(f"ratio tuf-appliance --help / import typer: {ratio:.2f}x (goal <= {GOAL}x: {verdict})")
    online = times["tuf-online --help"] / times["python -c 'import typer'"]
    print(f"ratio tuf-online --help / import typer: {online:.2f}x")
    if args.importtime:
        report_imports()


if __name__ == "__main__":
    main()
