"""The benchmarks never rot: ``benchmarks/run.py --quick --json`` measures every figure at a
tiny size, and its last line names each one with a number."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest

from tests.conftest import POSTGRES_URL, ROOT

FIGURES = [
    "check_100k_s", "check_100k_ratio", "check_1m_s", "check_1m_peak_mb", "recheck_one_cell_ms",
    "apply_new_sqlite_rows_s", "bare_insert_sqlite_rows_s", "apply_vs_bare_sqlite",
    "apply_new_postgres_rows_s", "apply_update_sqlite_rows_s", "undo_100k_rows_s",
    "password_2_workers_speedup", "apply_2_workers_postgres_speedup", "page_grid_visible_s",
    "page_edit_s", "page_quick_edits_kept", "users_first_page_s", "users_search_s",
    "draft_restore_100k_s", "server_rss_10_drafts_mb", "page_10_operators_s",
    "server_rss_10_operators_mb", "health_10_operators_s", "page_5_operators_s",
    "api_check_100k_s",
]  # fmt: skip
# Measured to compare with, with no target of their own.
BASELINES = {"bare_insert_sqlite_rows_s"}
# Without PostgreSQL or Chromium these cannot be measured; CI has both and must measure them.
NEED_A_SERVICE = {
    "apply_new_postgres_rows_s", "apply_2_workers_postgres_speedup", "page_grid_visible_s",
    "page_edit_s", "page_quick_edits_kept", "draft_restore_100k_s", "server_rss_10_drafts_mb",
    "page_10_operators_s", "server_rss_10_operators_mb", "health_10_operators_s",
    "page_5_operators_s", "api_check_100k_s",
}  # fmt: skip


@pytest.mark.timeout(960)  # the run's own limit is 900 s, for a slow or busy machine
def test_the_quick_run_measures_every_figure_with_its_target() -> None:
    env = dict(os.environ)
    if POSTGRES_URL:
        env["USERBATCH_BENCH_POSTGRES_URL"] = POSTGRES_URL
    done = subprocess.run(
        [sys.executable, "benchmarks/run.py", "--quick", "--json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    lines = done.stdout.strip().splitlines()
    figures = json.loads(lines[-1])
    may_be_missing = set() if os.environ.get("CI") else NEED_A_SERVICE
    for key in FIGURES:
        value = figures[key]
        note = figures["notes"].get(key, "")
        assert not note.startswith("failed"), note
        if value is None and key in may_be_missing:
            assert note, f"{key} is null without a note saying why"
            continue
        assert isinstance(value, int | float) and not isinstance(value, bool), (key, value)
        assert math.isfinite(value) and value > 0, (key, value)
        target = figures["targets"][key]
        if key in BASELINES:
            assert target == {"target": "(baseline)", "met": None}, (key, target)
        else:
            assert target["target"] and target["met"] in (True, False), (key, target)
    assert set(figures["targets"]) == set(FIGURES)
    # The table above the JSON line shows every figure and whether it met its target.
    table = "\n".join(lines[:-1])
    for key in FIGURES:
        row = next(line for line in table.splitlines() if line.startswith(key + " "))
        verdicts = ("baseline",) if key in BASELINES else ("met", "MISSED")
        assert any(verdict in row for verdict in verdicts) or figures[key] is None, row
