"""Measure every figure and print them with their targets.

    uv run python benchmarks/run.py [--quick] [--json]

Generates the data (a database of 1M users, cached in benchmarks/.cache/, and CSV files with
about 5% bad rows of every kind), runs each measured step in a fresh process, and prints a
table: the median of the runs, rows/s, peak memory, the naive baseline and how many times
faster the figure is. ``--quick`` does everything at a tiny size in seconds; ``--json`` adds
one JSON object as the last line, keyed by figure (see benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script: import this folder as the ``benchmarks`` package, from the checkout.
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from benchmarks import applying, checking, crowd, drafts, pages, searching
from benchmarks.figures import FULL, PARTS, QUICK, TARGETS, Figure, Sizes, document, table
from benchmarks.measure import StepFailed
from userbatch.settings import Settings, env_name
from userbatch.worker.runtime import Runtime


def measure(sizes: Sizes, workdir: Path) -> list[Figure]:
    """Every figure, in the order of TARGETS; those of a part that failed are None."""

    def applied() -> list[Figure]:
        # One embedded Redis server for every batch of the run: it starts in seconds, not
        # once a step (the served app of the page figures runs its own).
        with Runtime(Settings(data_dir=workdir / "redis"), worker=False) as redis:
            return applying.figures(sizes, workdir, redis.settings.effective_redis_url)

    parts: dict[str, Callable[[], list[Figure]]] = {
        "checking": lambda: checking.figures(sizes),
        "applying": applied,
        "pages": lambda: pages.figures(sizes, workdir),
        "searching": lambda: searching.figures(sizes),
        "drafts": lambda: drafts.figures(sizes, workdir),
        "crowd": lambda: crowd.figures(sizes, workdir),
    }
    figures = []
    for name, part in parts.items():
        try:
            figures += part()
        except StepFailed as failure:
            figures += [Figure(key, None, note=f"failed: {failure}") for key in PARTS[name]]
    order = list(TARGETS)
    return sorted(figures, key=lambda figure: order.index(figure.key))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    parser.add_argument("--json", action="store_true", help="end with one line of JSON")
    args = parser.parse_args(argv)
    # Every installation here is the benchmark's own: a DATABASE_URL or REDIS_URL of the
    # shell must not send its data (or its steps') anywhere else.
    for field in Settings.model_fields:
        os.environ.pop(env_name(field), None)
    sizes = QUICK if args.quick else FULL
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="userbatch-bench-") as folder:
        figures = measure(sizes, Path(folder))
    minutes = (time.monotonic() - started) / 60
    print(f"userbatch benchmarks{' (quick)' if args.quick else ''}: {sizes.users:,} users, "
          f"{sizes.rows:,}-row files; took {minutes:.1f} min")  # fmt: skip
    print(table(figures))
    if args.json:
        print(document(figures, quick=args.quick))
    # A full run measures every figure; one it could not is the run's failure, not a gap. (The
    # quick run may lack PostgreSQL or Chromium on a developer's machine: its test judges that.)
    missing = [figure.key for figure in figures if figure.value is None]
    if missing and not args.quick:
        print(f"FAILED: {len(missing)} figure(s) not measured: {', '.join(missing)} "
              "(their notes say why)", file=sys.stderr)  # fmt: skip
        sys.exit(1)


if __name__ == "__main__":
    main()
