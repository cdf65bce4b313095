"""Applying batches through the real RQ worker: 100k new users (SQLite and PostgreSQL),
100k updates of which 10% change, and users with passwords on one worker against two.

A run checks its file and stores the batch (as Execute does), starts the embedded Redis
server and ``userbatch worker`` processes, waits until they are registered (a served app's
worker is running already), then times the batch from ``enqueue_batch`` to "finished". The
new users get their groups and an invitation each (scheduled for tomorrow, so the figure is
the apply, not the mail). Every run of a figure uses other users of the same database.
"""

from __future__ import annotations

import datetime as dt
import os
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rq import Worker
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError
from tests.helpers import trigrams_in_public

from benchmarks import bare, data, naive
from benchmarks.figures import Figure, Sizes, shown
from benchmarks.measure import median, peak_mb, run_step, runs_within, timed
from userbatch.batches.history import get_batch
from userbatch.batches.store import Invitation, store_batch
from userbatch.check.run import check_file
from userbatch.db import open_database
from userbatch.mail.templates import default_template
from userbatch.models import Batch
from userbatch.settings import Settings
from userbatch.worker.connection import redis_connection
from userbatch.worker.runtime import spawn, stop_process
from userbatch.worker.submit import enqueue_batch, undo_batch

POSTGRES_URL = os.environ.get(
    "USERBATCH_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def stored_batch(settings: Settings, file: bytes, *, invite: bool) -> tuple[str, float]:
    """Check ``file`` and store it as a batch (with invitations for tomorrow); returns the
    batch id and the seconds storing took. Raises ``AssertionError`` if a row has an error."""
    place = data.installation(settings)
    result = check_file(
        place.engine, settings, file, file_name="users.csv", working_group=place.root,
        scope_path="",
    )  # fmt: skip
    assert not result.has_errors, result.counts
    invitation = None
    if invite:
        template = default_template(place.engine)
        tomorrow = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
        invitation = Invitation(template.id, template.subject, template.body, tomorrow)
    seconds, batch_id = timed(
        lambda: store_batch(
            place.engine,
            settings,
            result,
            operator=place.admin,
            working_group=place.root,
            invitation=invitation,
        )
    )
    return batch_id, seconds


@contextmanager
def running_workers(settings: Settings, count: int) -> Iterator[None]:
    """``count`` ``userbatch worker`` processes, registered with Redis before this yields
    and stopped after (a served app's worker is up before anyone executes a batch)."""
    logs = settings.data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    processes = [
        spawn(
            [sys.executable, "-m", "userbatch", "worker"],
            settings=settings,
            log=logs / f"worker-{number}.log",
        )
        for number in range(count)
    ]
    try:
        redis = redis_connection(settings)
        deadline = time.monotonic() + 60
        pids = {process.pid for process in processes}
        while {worker.pid for worker in Worker.all(connection=redis)} < pids:
            assert time.monotonic() < deadline, "the workers did not start within 60 s"
            time.sleep(0.05)
        yield
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            stop_process(process, timeout=60)


def run_batch(settings: Settings, batch_id: str) -> float:
    """Seconds from queueing the stored batch to its end, on the running workers. Raises
    ``AssertionError`` when the batch does not finish with every row applied."""
    engine = open_database(settings)
    started = time.perf_counter()
    enqueue_batch(engine, settings, batch_id)
    _finished(engine, batch_id)
    return time.perf_counter() - started


def _finished(engine: Engine, batch_id: str) -> Batch:
    """The batch once it has ended; ``AssertionError`` unless every row was done."""
    while get_batch(engine, batch_id).state not in ("finished", "failed", "canceled"):
        time.sleep(0.02)
    batch = get_batch(engine, batch_id)
    assert batch.state == "finished" and batch.failed == 0, (batch.state, batch.error)
    return batch


def apply_step(
    settings: dict[str, Any],
    files: list[str],
    *,
    invite: bool,
    budget_s: float,
    naive_file: str,
    naive_rows: int,
    seed_users: int = 0,
    undo: bool = False,
    two_worker_files: list[str] | None = None,
    bare_file: str | None = None,
) -> dict[str, Any]:
    """Step: (seed ``seed_users`` users first, if asked;) check, store and apply ``files``
    through a real worker, as many as fit in ``budget_s``; (undo the first of them, if
    asked; apply ``two_worker_files`` on two workers, if given;) then the naive baseline on
    ``naive_file`` (and the bare one on ``bare_file``, if given)."""
    chosen = Settings(**settings)
    seeded = 0.0
    if seed_users:
        engine = open_database(chosen)
        data.set_up_organisation(engine)
        seeded, _ = timed(lambda: data.seed_users(engine, seed_users))
    batches: list[str] = []

    def run(file_name: str) -> dict[str, Any]:
        file = Path(file_name).read_bytes()
        batch_id, store_seconds = stored_batch(chosen, file, invite=invite)
        seconds = run_batch(chosen, batch_id)
        batches.append(batch_id)
        batch = get_batch(open_database(chosen), batch_id)
        return {
            "seconds": seconds, "rows": batch.total, "store_seconds": store_seconds,
            "created": batch.created, "updated": batch.updated, "unchanged": batch.unchanged,
        }  # fmt: skip

    found: dict[str, Any] = {"seed_seconds": seeded}
    with running_workers(chosen, 1):
        found["runs"] = runs_within(budget_s, len(files), lambda number: run(files[number]))
        if undo:
            found["undo"] = undo_run(chosen, batches[0])
        if two_worker_files:
            with running_workers(chosen, 1):
                found["two_workers"] = runs_within(
                    budget_s, len(two_worker_files), lambda number: run(two_worker_files[number])
                )
    # The worker's work horses, reaped by the worker, which this process reaped.
    found["peak_mb"] = peak_mb(resource.RUSAGE_CHILDREN)
    found["naive"] = naive.apply(chosen, naive_file, naive_rows, invite=invite)
    if bare_file:
        found["bare"] = bare.bare_insert_sqlite(chosen.data_dir / "userbatch.db", Path(bare_file))
    return found


def undo_run(settings: Settings, batch_id: str) -> dict[str, Any]:
    """Undo the applied batch on the running workers: its rows and the seconds from the
    operator's "Undo" (the undo stored and queued) to the undo's end."""
    engine = open_database(settings)
    admin = data.installation(settings).admin
    started = time.perf_counter()
    undone = _finished(engine, undo_batch(engine, settings, admin, batch_id))
    seconds = time.perf_counter() - started
    return {"rows": undone.total, "seconds": seconds, "deleted": undone.deleted}


def passwords_step(rows: int, repeats: int, redis_url: str) -> dict[str, list[float]]:
    """Step: rows/s of batches of ``rows`` new users with clear-text passwords (argon2id at
    the OWASP minimum, ~20 ms a hash) on a fresh installation, ``repeats`` times on 1 worker,
    then as many times with a second worker beside it."""
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder), redis_url=redis_url)
        data.set_up_organisation(open_database(settings))

        def rates(workers: int) -> list[float]:
            found = []
            for run in range(repeats):
                file = "Login ID,Name,Password\r\n" + "".join(
                    f"user{workers}{run:02d}{n:06d},User {n},pass-word-{n}\r\n" for n in range(rows)
                )
                batch_id, _ = stored_batch(settings, file.encode(), invite=False)
                found.append(rows / run_batch(settings, batch_id))
            return found

        with running_workers(settings, 1):
            one = rates(1)
            with running_workers(settings, 1):
                two = rates(2)
    return {"1": one, "2": two}


@contextmanager
def postgres_schema() -> Iterator[str | None]:
    """A URL of the benchmark's PostgreSQL whose search path is a fresh schema (dropped
    afterwards), or None when the server does not answer."""
    admin = create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    try:
        with admin.begin() as connection:
            trigrams_in_public(connection)
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except OperationalError:
        admin.dispose()
        yield None
        return
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def figures(sizes: Sizes, workdir: Path, redis_url: str) -> list[Figure]:
    """apply_new_sqlite_rows_s, bare_insert_sqlite_rows_s, apply_vs_bare_sqlite,
    apply_new_postgres_rows_s, apply_update_sqlite_rows_s, undo_100k_rows_s,
    password_2_workers_speedup, apply_2_workers_postgres_speedup; every run's jobs go
    through the Redis at ``redis_url``."""
    # Files of new users: a run each, then one for the naive baseline, one for the bare one,
    # then a run each on two workers (one run fewer: PostgreSQL's runs are the run's longest).
    new_files = [
        data.cached_file(data.new_users_file(sizes.rows, sizes.users, new_base=_new_base(run)))
        for run in range(sizes.repeats + 2 + max(1, sizes.repeats - 1))
    ]
    one_worker, naive_file, bare_file = (
        new_files[: sizes.repeats],
        new_files[sizes.repeats],
        new_files[sizes.repeats + 1],
    )
    two_workers = new_files[sizes.repeats + 2 :]
    sqlite = _sqlite(sizes, workdir / "apply-new", redis_url)
    found = _step(sqlite, one_worker, naive_file, sizes, invite=True, undo=True,
                  bare_file=str(bare_file))  # fmt: skip
    new_sqlite = _figure("apply_new_sqlite_rows_s", found, sizes)
    figures = [new_sqlite, *_bare(found, new_sqlite), _undo(found)]
    with postgres_schema() as url:
        if url is None:
            note = f"PostgreSQL at {POSTGRES_URL} does not answer (USERBATCH_BENCH_POSTGRES_URL)"
            keys = ["apply_new_postgres_rows_s", "apply_2_workers_postgres_speedup"]
            figures += [Figure(key, None, note=note) for key in keys]
        else:
            postgres = {
                "data_dir": str(workdir / "apply-postgres"), "database_url": url,
                "redis_url": redis_url,
            }  # fmt: skip
            found = _step(postgres, one_worker, naive_file, sizes, invite=True,
                          two_worker_files=[str(file) for file in two_workers])  # fmt: skip
            new_postgres = _figure("apply_new_postgres_rows_s", found, sizes)
            figures += [new_postgres, _two_workers(found, new_postgres)]
    update_files = [
        data.cached_file(data.updates_file(sizes.rows, sizes.users, offset=run))
        for run in range(sizes.repeats + 1)
    ]
    updates = _sqlite(sizes, workdir / "apply-update", redis_url)
    found = _step(updates, update_files[:-1], update_files[-1], sizes, invite=False)
    figures.append(_figure("apply_update_sqlite_rows_s", found, sizes))
    figures.append(_passwords(sizes, redis_url))
    return figures


def _new_base(run: int) -> int:
    # Each run registers people no other run (nor the seeded database) has.
    return data.NEW_USERS_BASE + run * 1_000_000


def _sqlite(sizes: Sizes, folder: Path, redis_url: str) -> dict[str, Any]:
    return {"data_dir": str(data.sqlite_copy(sizes.users, folder).data_dir), "redis_url": redis_url}


def _step(
    settings: dict[str, Any],
    files: list[Path],
    naive_file: Path,
    sizes: Sizes,
    *,
    invite: bool,
    **more: Any,
) -> dict[str, Any]:
    return run_step(
        "apply", settings=settings, files=[str(file) for file in files], invite=invite,
        budget_s=sizes.budget_s, naive_file=str(naive_file), naive_rows=sizes.naive_rows,
        seed_users=sizes.users if "database_url" in settings else 0, **more,
    )  # fmt: skip


def _figure(key: str, found: dict[str, Any], sizes: Sizes) -> Figure:
    """A figure of rows/s applying, from what the apply step found."""
    runs = found["runs"]
    rates = [run["rows"] / run["seconds"] for run in runs]
    rate = median(rates)
    naive_rate = found["naive"]["rows"] / found["naive"]["seconds"]
    done = ", ".join(
        f"{runs[0][outcome]:,} {outcome}"
        for outcome in ("created", "updated", "unchanged")
        if runs[0][outcome]
    )
    stored = shown(median([run["store_seconds"] for run in runs]), "s")
    note = (
        f"{sizes.rows:,} rows a run ({done}), 1 worker, into {sizes.users:,} users; storing "
        f"the batch first took {stored}; peak MB is the worker's"
    )
    if found["seed_seconds"]:
        note += f"; seeding PostgreSQL took {found['seed_seconds']:.0f} s"
    return Figure(
        key, rate, rates, rows_per_s=rate, peak_mb=found["peak_mb"],
        baseline=f"{naive_rate:,.0f} rows/s (per-row ORM, {found['naive']['rows']:,} rows)",
        vs_baseline=rate / naive_rate, note=note,
    )  # fmt: skip


def _bare(found: dict[str, Any], applied: Figure) -> list[Figure]:
    """bare_insert_sqlite_rows_s and apply_vs_bare_sqlite."""
    bare_rate = found["bare"]["rows"] / found["bare"]["seconds"]
    assert applied.value is not None
    share = applied.value / bare_rate
    what = f"{found['bare']['rows']:,} new users and their groups"
    return [
        Figure(
            "bare_insert_sqlite_rows_s", bare_rate, [bare_rate], rows_per_s=bare_rate,
            note=f"{what} by sqlite3 executemany in one transaction, into the same database: "
            f"no check, no images, no outcomes, no invitations",
        ),
        Figure(
            "apply_vs_bare_sqlite", share, [share], baseline=f"bare: {bare_rate:,.0f} rows/s",
            note=f"apply_new_sqlite_rows_s ({applied.value:,.0f} rows/s) ÷ the bare insert",
        ),
    ]  # fmt: skip


def _undo(found: dict[str, Any]) -> Figure:
    undo = found["undo"]
    rate = undo["rows"] / undo["seconds"]
    return Figure(
        "undo_100k_rows_s", rate, [rate], rows_per_s=rate,
        note=f"the undo of the first {undo['rows']:,}-row batch of new users ({undo['deleted']:,}"
        " deleted), from Undo (stored and queued) to its end, 1 worker, SQLite",
    )  # fmt: skip


def _two_workers(found: dict[str, Any], one_worker: Figure) -> Figure:
    rates = [run["rows"] / run["seconds"] for run in found["two_workers"]]
    assert one_worker.value is not None
    speedup = median(rates) / one_worker.value
    return Figure(
        "apply_2_workers_postgres_speedup", speedup, [rate / one_worker.value for rate in rates],
        rows_per_s=median(rates), baseline=f"1 worker: {one_worker.value:,.0f} rows/s",
        vs_baseline=speedup,
        note=f"{found['two_workers'][0]['rows']:,} new users without passwords a run, 2 workers "
        "÷ 1 (apply_new_postgres_rows_s); rows/s with 2 workers",
    )  # fmt: skip


def _passwords(sizes: Sizes, redis_url: str) -> Figure:
    rates = run_step(
        "passwords", rows=sizes.password_rows, repeats=sizes.repeats, redis_url=redis_url
    )
    one, two = rates["1"], rates["2"]
    speedup = median(two) / median(one)
    return Figure(
        "password_2_workers_speedup", speedup,
        [second / first for first, second in zip(one, two, strict=True)],
        rows_per_s=median(two), baseline=f"1 worker: {median(one):,.1f} rows/s",
        vs_baseline=speedup,
        note=f"{sizes.password_rows:,} new users with passwords a run; rows/s with 2 workers",
    )  # fmt: skip
