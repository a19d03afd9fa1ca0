"""Timing shared by the benchmark scripts: best wall time of N runs."""

from __future__ import annotations

import time
from collections.abc import Callable


def best(action: Callable[[], object], runs: int) -> float:
    fastest = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        action()
        fastest = min(fastest, time.perf_counter() - started)
    return fastest
