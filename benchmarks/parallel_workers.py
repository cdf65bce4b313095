"""How much a second worker speeds up a batch of users with passwords (the figure
``password_2_workers_speedup`` of benchmarks/run.py, on its own).

    uv run python benchmarks/parallel_workers.py [--rows 1000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from benchmarks.applying import passwords_step
from userbatch.settings import Settings
from userbatch.worker.runtime import Runtime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as folder,
        Runtime(Settings(data_dir=Path(folder)), worker=False) as redis,
    ):
        rates = passwords_step(args.rows, 1, redis.settings.effective_redis_url)
    one, two = rates["1"][0], rates["2"][0]
    print(f"rows with passwords: {args.rows}")
    print(f"1 worker : {one:8.1f} rows/s")
    print(f"2 workers: {two:8.1f} rows/s")
    print(f"speed-up : {two / one:8.2f}x")


if __name__ == "__main__":
    main()
