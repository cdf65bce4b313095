"""Edits of many cells worked out from a check: the same fix for every cell like one, find
and replace, a pasted block, the next error."""

from __future__ import annotations

from tests.check.test_check import H, run_check
from tests.conftest import World
from userbatch.batches.drafts import History, Step
from userbatch.check.fixes import ROW, like_it, next_error, pasted, replaced, suggested

FIELDS = ["login_id", "name", "email"]
GROUPS = H + "\n".join(
    [
        "tanaka01,Tanaka,,,,,,,Sales>>Tokio",
        "suzuki01,Suzuki,,,,,Vaild,,Sales>>Tokio",
        "kato0003,Kato,,,,,,,Sales>>Tokyo",
        "sato0002,Sato,,,,,,,Sales>>Tokio",
        "ito00004,Ito,,,,,,,Suport",
    ]
)


def test_every_cell_with_the_same_problem_and_text_gets_its_suggestion(people: World) -> None:
    result = run_check(people, GROUPS + "\n")
    groups = suggested(result)
    assert len(groups["unknown_group", "belong_to", "Sales>>Tokio"]) == 3
    assert list(groups) == [  # in file order
        ("unknown_group", "belong_to", "Sales>>Tokio"),
        ("invalid_status", "status", "Vaild"),
        ("unknown_group", "belong_to", "Suport"),
    ]
    fixed = like_it(result, 2, "belong_to", "unknown_group")
    assert fixed == {row: {"belong_to": "Sales>>Tokyo"} for row in (2, 3, 5)}
    assert like_it(result, 4, "belong_to", "unknown_group") == {}  # row 4 has no such problem
    assert like_it(result, 3, "status", "invalid_status") == {3: {"status": "Valid"}}


def test_find_and_replace_in_a_column_or_in_cells(people: World) -> None:
    result = run_check(people, GROUPS + "\n")
    column = replaced(result, "tokio", "Tokyo", field="belong_to")
    assert column == {row: {"belong_to": "Sales>>Tokyo"} for row in (2, 3, 5)}
    assert replaced(result, "tokio", "Tokyo", field="belong_to", match_case=True) == {}
    assert replaced(result, "Sales", "S", field="belong_to", whole=True) == {}
    within = replaced(
        result, "Sales>>Tokio", "Sales", within=[(2, "belong_to"), (4, "name")], whole=True
    )
    assert within == {2: {"belong_to": "Sales"}}
    # A replacement is text, never a pattern: a backslash stays a backslash.
    assert replaced(result, "Ito", r"I\1", field="name") == {6: {"name": r"I\1"}}
    assert replaced(result, "", "x", field="name") == {}


def test_a_block_is_laid_over_the_rows_shown_and_the_columns() -> None:
    block = [["a", "b", "c", "d"], ["e", "f"]]
    cells, dropped = pasted([2, 5, 9], FIELDS, 5, "name", block)
    assert cells == {5: {"name": "a", "email": "b"}, 9: {"name": "e", "email": "f"}}
    assert dropped == 2
    assert pasted([2, 5, 9], FIELDS, 9, "login_id", [["x"], ["y"]]) == ({9: {"login_id": "x"}}, 1)
    assert pasted([2], FIELDS, 7, "name", [["x"]]) == ({}, 1)  # a row no longer shown


def test_the_next_error_in_the_order_shown_round_the_end(people: World) -> None:
    text = H + "\n".join(
        ["tanaka01,Tanaka,,,,,,,", "ab1,,,,,,,,", "suzuki01,Suzuki,,,,,,,", "kato0003,,,bad@,,,,,"]
    )
    result = run_check(people, text + "\n")
    fields = [column.key for column in result.sheet.columns]
    shown = result.numbers()
    assert next_error(result, shown, fields, 2, "login_id") == (3, "login_id")
    assert next_error(result, shown, fields, 3, "login_id") == (3, "name")
    assert next_error(result, shown, fields, 3, "name") == (5, "name")
    assert next_error(result, shown, fields, 5, "email") == (3, "login_id")  # round the end
    assert next_error(result, shown, fields, 3, "login_id", back=True) == (5, "email")
    assert next_error(result, shown, fields, 5, "name", back=True) == (3, "name")
    assert next_error(result, shown, fields, 3, ROW) == (3, "login_id")
    clean = run_check(people, H + "tanaka01,Tanaka,,,,,,,\n")
    assert next_error(clean, clean.numbers(), fields, 2, "login_id") is None


def test_the_history_follows_edits_undos_and_redos() -> None:
    history = History()
    first, second = Step({2: {"name": "A"}}, {2: {"name": ""}}), Step({3: {"name": "B"}}, {})
    history.took("edit", first)
    history.took("edit", second)
    history.took("undo")
    assert (history.undo, history.redo) == ([first], [second])
    history.took("redo")
    assert (history.undo, history.redo) == ([first, second], [])
    history.took("undo")
    history.took("edit", first)  # a new edit ends what could be redone
    assert (history.undo, history.redo) == ([first, first], [])
    history.took("edit", None)  # rows deleted: nothing to undo
    assert len(history.undo) == 2
