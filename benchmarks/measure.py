"""Running one measured step in a fresh process, and the arithmetic of the figures.

A step is a function of ``benchmarks.steps`` run as ``python -m benchmarks.steps NAME ARGS``:
its own process, so the peak memory it reports (``ru_maxrss``) is its own and nothing of
another figure's. It prints one JSON object as its last line.
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")


LOGS = ROOT / "benchmarks" / ".cache" / "logs"


class StepFailed(RuntimeError):
    """A step's process ended without a result (its output is in ``LOGS``)."""


def run_step(name: str, **arguments: Any) -> dict[str, Any]:
    """Run step ``name`` in a fresh Python process; returns the JSON object it printed."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.steps", name, json.dumps(arguments)],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        LOGS.mkdir(parents=True, exist_ok=True)
        log = LOGS / f"failed-{name}-{int(time.time())}.log"
        log.write_text(f"{arguments}\n\n{done.stdout}\n\n{done.stderr}")
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or [""]
        raise StepFailed(f"step {name} failed (exit code {done.returncode}; see {log}): {last[0]}")
    result: dict[str, Any] = json.loads(lines[-1])
    print(f"  {name}: {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return result


def peak_mb(who: int = resource.RUSAGE_SELF) -> float:
    """The peak resident memory of this process (or of its largest waited-for descendant),
    in MB of 10^6 bytes (Linux reports KiB)."""
    return resource.getrusage(who).ru_maxrss * 1024 / 1e6


def timed(action: Callable[[], T]) -> tuple[float, T]:
    """The seconds ``action`` took, and what it returned."""
    started = time.perf_counter()
    value = action()
    return time.perf_counter() - started, value


def runs_within(budget_s: float, most: int, run: Callable[[int], T]) -> list[T]:
    """What ``run(0)``, ``run(1)``, ... return: at least one run and at most ``most``, and no
    further run once another as slow as the slowest so far would end past ``budget_s``
    seconds from the start (a figure far off its target would otherwise take an hour)."""
    started = time.perf_counter()
    results: list[T] = []
    slowest = 0.0
    for number in range(most):
        begun = time.perf_counter()
        results.append(run(number))
        slowest = max(slowest, time.perf_counter() - begun)
        if time.perf_counter() - started + slowest > budget_s:
            break
    return results


def median(values: list[float]) -> float:
    return float(statistics.median(values))
