"""One page of the draft's grid: its rows, and what the browser's grid (``sheet``) is sent.

The grid keeps its rows while its page and filter stay, so a row fixed while "Show only
errors" is on stays where it was instead of vanishing under the operator's hands. Every bad
cell carries its mark (error or warning), its messages, and the fix the check suggests with
how many cells have the same problem and text ("Apply to all N like it"); a problem of the
whole row is marked on the row's number.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import streamlit as st

from userbatch.check.fixes import Cells
from userbatch.check.state import STATUS_NAMES, CheckResult, RowResult
from userbatch.i18n import N_, _
from userbatch.ui import keys
from userbatch.ui.batch.state import Checked, GridPage
from userbatch.ui.text import inert

PAGE_SIZE = 50
SECRET_FIELDS = frozenset({"password"})  # masked on screen, shown one cell at a time
# The grid's own words (message ids; "{value}" and "{count}" are filled in by the browser).
LABELS = {
    "undo": N_("↶ Undo"), "undo_key": N_("Undo the last edit (Ctrl+Z)"),
    "redo": N_("↷ Redo"), "redo_key": N_("Redo (Ctrl+Shift+Z)"),
    "prev": N_("◀ Previous error"), "prev_key": N_("The previous cell with an error (Shift+F8)"),
    "next": N_("Next error ▶"), "next_key": N_("The next cell with an error, across pages (F8)"),
    "delete": N_("Delete"), "row": N_("Row"), "status": N_("Status"),
    "changes": N_("Changes (old → new)"), "apply": N_("Apply '{value}' (Alt+A)"),
    "apply_all": N_("Apply to all {count} like it (Alt+Shift+A)"), "blank": N_("(blank)"),
    "show": N_("Show the password (Alt+S)"), "hide": N_("Hide the password (Alt+S)"),
}  # fmt: skip


def labels() -> dict[str, Any]:
    """The grid's words in the reader's language."""
    shown: dict[str, Any] = {key: _(msgid) for key, msgid in LABELS.items()}
    shown["statuses"] = {status: _(name) for status, name in STATUS_NAMES.items()}
    return shown


def grid_page(state: Checked, shown: list[int], page: int, only_errors: bool) -> GridPage:
    """This tab's grid: the one drawn last while its page, filter and rows stay, else anew
    (keeping what it took from the browser)."""
    grid: GridPage | None = st.session_state.get(keys.GRID_SHOWN)
    present = state.result.status.index
    if (
        grid is not None
        and (grid.page, grid.only_errors) == (page, only_errors)
        and all(number in present for number in grid.rows)
    ):
        return grid
    rows = shown[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    if grid is None:
        grid = GridPage(rows, page, only_errors)
    else:
        grid = replace(grid, rows=rows, page=page, only_errors=only_errors, ticks=grid.ticks + 1)
    st.session_state[keys.GRID_SHOWN] = grid
    return grid


def payload(
    state: Checked, grid: GridPage, rows: list[RowResult], fixes: dict[tuple[str, str, str], Cells]
) -> dict[str, Any]:
    """What the browser's grid draws: the columns, the page's rows with their marks (and how
    many cells each fix of ``fixes``, ``check.fixes.suggested``, applies to), the events
    taken, the cell to focus and whether there is something to undo or redo."""
    result = state.result
    sheet = result.sheet
    columns = [column.key for column in sheet.columns]
    cells = sheet.cells.loc[grid.rows, columns] if grid.rows else sheet.cells.iloc[:0]
    taken = st.session_state.get(keys.GRID_TAKEN, ("", 0))
    blank = _("(blank)")
    return {
        "columns": [
            {"key": key, "label": label, "secret": key in SECRET_FIELDS}
            for key, label in zip(columns, sheet.labels, strict=True)
        ],
        "rows": [
            {
                "row": row.row,
                "status": row.status,
                "cells": cells.loc[row.row].tolist(),
                "marks": _marks(result, row, fixes),
                "changes": "; ".join(
                    f"{label}: {old or blank} → {new or blank}"
                    for label, (old, new) in row.changes.items()
                ),
            }
            for row in rows
        ],
        "changes": any(row.changes for row in rows),
        "ack": dict(zip(("id", "seq"), taken, strict=True)),
        "focus": st.session_state.get(keys.GRID_FOCUS),
        "ticks": grid.ticks,
        "undo": bool(state.history.undo),
        "redo": bool(state.history.redo),
        "labels": labels(),
    }


def _marks(
    result: CheckResult, row: RowResult, fixes: dict[tuple[str, str, str], Cells]
) -> dict[str, dict[str, Any]]:
    """The row's marks by field key ("" for the whole row): the worst level, every message,
    and the first suggestion with its code and how many cells are like it."""
    marks: dict[str, dict[str, Any]] = {}
    for issue in row.issues:
        mark = marks.setdefault(
            issue.field or "",
            {"level": "warning", "code": issue.code, "messages": [], "suggestion": None, "like": 0},
        )
        if issue.level == "error":
            mark["level"] = "error"
        mark["messages"].append({"level": issue.level, "text": str(issue.message)})
        if issue.suggestion is not None and mark["suggestion"] is None and issue.field:
            text = result.table.cells.at[row.row, issue.field]
            mark.update(
                code=issue.code, suggestion=issue.suggestion,
                like=len(fixes.get((issue.code, issue.field, text), {})),
            )  # fmt: skip
    return marks


def problem_list(rows: list[RowResult]) -> None:
    """The whole messages of the rows on the page, listed under the grid too."""
    warning = _(" (warning)")
    lines = [
        "- " + _("**Row {row}**", row=row.row)
        + (_(", {column}", column=inert(issue.column)) if issue.column else "")
        + (warning if issue.level == "warning" else "") + f": {inert(issue.message)}"
        for row in rows
        for issue in row.issues
    ]  # fmt: skip
    if lines:
        title = _("Problems on this page ({count})", count=len(lines))
        with st.expander(title, expanded=len(lines) <= 10):
            st.markdown("\n".join(lines))
