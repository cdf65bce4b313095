"""The check figures: a 100k-row and a 1M-row file checked against 1M users, and the
incremental re-check of one edited cell on the 100k-row sheet.

Each run is a fresh process that first checks the file's first 200 rows, as a server that
has served an upload before would have: imports done, SQL statements compiled. The timed
check reads the uploaded bytes and checks every row (``check_file``), as "Upload and check"
does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks import data, naive
from benchmarks.figures import Figure, Sizes, shown
from benchmarks.measure import median, peak_mb, run_step, runs_within, timed
from userbatch.check.run import check_file, check_sheet, recheck
from userbatch.check.state import CheckedSheet
from userbatch.settings import Settings

WARM_ROWS = 200


def head(whole: bytes, rows: int) -> bytes:
    """The header and the first ``rows`` rows of a CSV file."""
    return b"\r\n".join(whole.split(b"\r\n", rows + 1)[: rows + 1]) + b"\r\n"


def check_upload(settings: Settings, place: data.Installation, file: bytes) -> CheckedSheet:
    return check_file(
        place.engine, settings, file, file_name="users.csv", working_group=place.root,
        scope_path="",
    )  # fmt: skip


def _warm(database: str, file: str) -> tuple[Settings, data.Installation, bytes]:
    settings = data.reading(database)
    place = data.installation(settings)
    whole = Path(file).read_bytes()
    check_upload(settings, place, head(whole, WARM_ROWS))
    return settings, place, whole


def check_step(database: str, file: str, naive_rows: int = 0) -> dict[str, Any]:
    """Step: check ``file`` once against ``database``; then, if ``naive_rows``, the naive
    baseline on that many of its rows."""
    settings, place, whole = _warm(database, file)
    seconds, result = timed(lambda: check_upload(settings, place, whole))
    found = {
        "seconds": seconds, "rows": result.sheet.rows, "counts": result.counts,
        "peak_mb": peak_mb(),
    }  # fmt: skip
    del result
    return found | ({"naive": naive.check(database, file, naive_rows)} if naive_rows else {})


def recheck_step(database: str, file: str, edits: int) -> dict[str, Any]:
    """Step: check ``file``, then fix ``edits`` bad login IDs one cell at a time, timing each
    re-check; and, as the naive baseline, a full check of the edited sheet."""
    settings, place, whole = _warm(database, file)
    result = check_upload(settings, place, whole)
    bad = [
        row.row
        for row in result.ordered()
        if row.status == "error" and all(issue.field == "login_id" for issue in row.issues)
    ][:edits]
    times = []
    for row in bad:
        seconds, _ = timed(lambda row=row: recheck(result, {row: {"login_id": f"fixed{row:07d}"}}))
        assert result.rows[row].status == "new", result.rows[row]
        times.append(seconds * 1000)
    full, _ = timed(lambda: check_sheet(place.engine, result.sheet, result.options))
    return {"ms": times, "full_check_ms": full * 1000, "peak_mb": peak_mb()}


def figures(sizes: Sizes) -> list[Figure]:
    """check_100k_s, check_100k_ratio, check_1m_s, check_1m_peak_mb, recheck_one_cell_ms."""
    database = str(data.seeded_sqlite(sizes.users))
    file = str(data.cached_file(data.FileMix(sizes.rows, sizes.users)))
    big = str(data.cached_file(data.FileMix(sizes.big_rows, sizes.users)))
    runs = runs_within(
        sizes.budget_s, sizes.repeats,
        lambda run: run_step(
            "check", database=database, file=file, naive_rows=0 if run else sizes.naive_rows
        ),
    )  # fmt: skip
    seconds = median([run["seconds"] for run in runs])
    naive = runs[0]["naive"]
    naive_100k, baseline = _extrapolated(naive, sizes.rows)
    check_100k = Figure(
        "check_100k_s", seconds, [run["seconds"] for run in runs],
        rows_per_s=sizes.rows / seconds, peak_mb=max(run["peak_mb"] for run in runs),
        baseline=baseline, vs_baseline=naive_100k / seconds,
        note=f"{_counts(runs[0]['counts'])}; naive: pydantic (EmailStr) and one ORM SELECT a "
        "row, timed on the first rows and extrapolated linearly",
    )  # fmt: skip
    ratio = Figure(
        "check_100k_ratio", naive_100k / seconds, [naive_100k / run["seconds"] for run in runs],
        baseline=baseline, vs_baseline=naive_100k / seconds, note="naive time ÷ check_100k_s",
    )  # fmt: skip

    big_runs = runs_within(
        sizes.budget_s, sizes.repeats, lambda _: run_step("check", database=database, file=big)
    )
    big_seconds = median([run["seconds"] for run in big_runs])
    naive_big, big_baseline = _extrapolated(naive, sizes.big_rows)
    peaks = [run["peak_mb"] for run in big_runs]
    check_1m = Figure(
        "check_1m_s", big_seconds, [run["seconds"] for run in big_runs],
        rows_per_s=sizes.big_rows / big_seconds, peak_mb=max(peaks), baseline=big_baseline,
        vs_baseline=naive_big / big_seconds, note=_counts(big_runs[0]["counts"]),
    )  # fmt: skip
    peak = Figure(
        "check_1m_peak_mb", max(peaks), peaks, peak_mb=max(peaks),
        note="highest resident memory of the process checking the 1M-row file",
    )  # fmt: skip

    edited = run_step("recheck", database=database, file=file, edits=sizes.edits)
    ms = median(edited["ms"])
    recheck = Figure(
        "recheck_one_cell_ms", ms, edited["ms"], peak_mb=edited["peak_mb"],
        baseline=f"{shown(edited['full_check_ms'] / 1000, 's')} (check the whole sheet again)",
        vs_baseline=edited["full_check_ms"] / ms,
        note=f"{len(edited['ms'])} bad login IDs fixed one at a time on the "
        f"{sizes.rows:,}-row sheet",
    )  # fmt: skip
    return [check_100k, ratio, check_1m, peak, recheck]


def _extrapolated(naive: dict[str, Any], rows: int) -> tuple[float, str]:
    """The naive check's seconds for ``rows`` rows, and the baseline column's words."""
    seconds = naive["seconds"] / naive["rows"] * rows
    return seconds, f"{shown(seconds, 's')} ({naive['rows']:,} rows × {rows / naive['rows']:,.0f})"


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{count:,} {status}" for status, count in counts.items())
