"""How much a second worker speeds up a batch of users with passwords.

    uv run python benchmarks/parallel_workers.py [--rows 1000]

Each run sets up a fresh installation in a temporary folder (SQLite, the embedded Redis),
stores a batch of new users with clear-text passwords (argon2id at the OWASP minimum, ~20 ms
a hash), starts 1 or 2 `userbatch worker` processes and times the batch from queued to
finished. Prints rows/s for each and the speed-up.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from userbatch import auth
from userbatch.batches import get_batch, store_batch
from userbatch.check import check_file
from userbatch.db import open_database
from userbatch.groups import groups_in_scope
from userbatch.jobs import enqueue_batch
from userbatch.runtime import Runtime, child_environment
from userbatch.settings import Settings


def run(rows: int, workers: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder))
        engine = open_database(settings)
        admin = auth.initialize(
            engine, organisation="Bench", login="admin", password="bench-pass-1",
            min_password_length=8,
        )  # fmt: skip
        data = "Login ID,Name,Password\r\n" + "".join(
            f"user{n:06d},User {n},pass-word-{n}\r\n" for n in range(rows)
        )
        root = groups_in_scope(engine, "")[0]
        result = check_file(
            engine, settings, data.encode(), file_name="bench.csv", working_group=root,
            scope_path="",
        )  # fmt: skip
        batch_id = store_batch(engine, settings, result, operator=admin, working_group=root)
        with Runtime(settings, worker=False):
            enqueue_batch(engine, settings, batch_id)
            started = time.perf_counter()
            processes = [
                subprocess.Popen(
                    [sys.executable, "-m", "userbatch", "worker"],
                    env=child_environment(settings),
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                for _ in range(workers)
            ]
            try:
                while get_batch(engine, batch_id).state not in ("finished", "failed"):
                    time.sleep(0.1)
                elapsed = time.perf_counter() - started
            finally:
                for process in processes:
                    process.terminate()
                for process in processes:
                    process.wait(timeout=60)
        assert get_batch(engine, batch_id).created == rows
        return rows / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    args = parser.parse_args()
    one = run(args.rows, 1)
    two = run(args.rows, 2)
    print(f"rows with passwords: {args.rows}")
    print(f"1 worker : {one:8.1f} rows/s")
    print(f"2 workers: {two:8.1f} rows/s")
    print(f"speed-up : {two / one:8.2f}x")


if __name__ == "__main__":
    main()
