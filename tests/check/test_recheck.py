"""The incremental re-check equals a full check of the edited sheet, whatever the edits."""

from __future__ import annotations

import dataclasses

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.check.test_check import H, run_check
from tests.conftest import World
from userbatch.check.run import check_sheet, recheck, rejudge
from userbatch.check.state import CheckResult

LOGIN_IDS = ["tanaka01", "suzuki01", "sato0002", "ab1", "", "ｔａｎａｋａ01"]
EMAILS = ["t@example.com", "T@example.com", "sato@example.com", "kato@example.com", "bad@", ""]
GROUPS = ["", "Sales", "Support", "Nowhere"]
FIELDS = {"login_id": LOGIN_IDS, "email": EMAILS, "name": ["", "A", "Name"], "belong_to": GROUPS}
BASE = H + "\n".join(
    [
        "tanaka01,Tanaka,,t@example.com,,,,,",
        "sato0002,Sato,,sato@example.com,,Sales,,,Sales",
        "suzuki01,Suzuki,,kato@example.com,,,,,",
        "tanaka01,Other,,,,,,,Nowhere",
        "kato0003,Kato,,kato@example.com,,,,,",
        "ab1,,,bad@,,,,,",
        "yamada01,,,bad@,,,,,,one cell too many",
    ]
)
ROWS = list(range(2, 9))

edit = st.tuples(st.sampled_from(ROWS), st.sampled_from(sorted(FIELDS))).flatmap(
    lambda pair: st.tuples(st.just(pair[0]), st.just(pair[1]), st.sampled_from(FIELDS[pair[1]]))
)


def snapshot(result: CheckResult) -> list[tuple[object, ...]]:
    return [
        (row.row, row.status, row.key, row.issues, row.changes, row.user_id)
        for row in result.ordered()
    ]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    steps=st.lists(
        st.tuples(
            st.lists(edit, max_size=3),
            st.lists(st.sampled_from(ROWS), max_size=1),
        ),
        min_size=1,
        max_size=3,
    )
)
def test_incremental_equals_full(
    people: World, steps: list[tuple[list[tuple[int, str, str]], list[int]]]
) -> None:
    incremental = run_check(people, BASE + "\n")
    for edits, deleted in steps:
        changes: dict[int, dict[str, str]] = {}
        for row, key, value in edits:
            changes.setdefault(row, {})[key] = value
        recheck(incremental, changes, deleted)
    sheet = dataclasses.replace(incremental.sheet, cells=incremental.sheet.cells.copy())
    full = check_sheet(people.engine, sheet, incremental.options)
    assert snapshot(incremental) == snapshot(full)
    assert incremental.counts == full.counts


def test_fixing_one_duplicate_clears_both_rows(people: World) -> None:
    result = run_check(people, H + "tanaka01,A,,,,,,,\ntanaka01,B,,,,,,,\n")
    assert result.counts["error"] == 2
    recheck(result, {3: {"login_id": "suzuki01"}})
    assert result.counts == {"new": 2, "update": 0, "unchanged": 0, "error": 0}


def test_deleting_a_row_clears_its_duplicate(people: World) -> None:
    result = run_check(people, H + "tanaka01,A,,,,,,,\ntanaka01,B,,,,,,,\n")
    recheck(result, {}, deleted=[2])
    assert [row.row for row in result.ordered()] == [3]
    assert result.counts["new"] == 1


def test_rejudge_checks_the_edited_sheet_again_for_the_new_working_group(people: World) -> None:
    result = run_check(people, BASE + "\n", working="Sales")
    assert rejudge(people.engine, result, working_group=people.groups["Sales"]) is result
    recheck(result, {7: {"login_id": "kobayashi"}}, deleted=[5])
    moved = rejudge(people.engine, result, working_group=people.groups["Support"])
    assert moved.options.working_group == people.groups["Support"]
    assert moved.sheet.cells.loc[7, "login_id"] == "kobayashi"
    assert 5 not in moved.sheet.cells.index
    sheet = dataclasses.replace(moved.sheet, cells=moved.sheet.cells.copy())
    assert snapshot(moved) == snapshot(check_sheet(people.engine, sheet, moved.options))
