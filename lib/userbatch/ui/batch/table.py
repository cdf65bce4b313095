"""One page of the draft's grid: its rows, how it is drawn, and the edits read from it.

The grid keeps its identity (the same rows, columns and key) while its page and filter stay,
so an edit committed while the page reruns stays in it and is read by the next run instead
of being dropped. Streamlit styles only read-only columns, so each column that had a bad
cell on the page when it was drawn gets a narrow read-only marker column beside it: ✖ for an
error, ! for a warning, next to the very cell.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from userbatch.check.state import RowResult
from userbatch.ui import keys
from userbatch.ui.batch.state import Checked, GridPage
from userbatch.ui.text import inert

PAGE_SIZE = 50
STATUS_LABELS = {"new": "New", "update": "Update", "unchanged": "Unchanged", "error": "Error"}
STATUS_COLOURS = {"new": "#1b7f3b", "update": "#1f5fbf", "unchanged": "#6b6b6b", "error": "#c62828"}
ERROR_MARK, WARNING_MARK = "✖", "!"
DELETE = "Delete"  # the grid's tick column


def grid_page(state: Checked, shown: list[int], page: int, only_errors: bool) -> GridPage:
    """This tab's grid: the one drawn last while its page, filter and rows stay, else anew."""
    grid: GridPage | None = st.session_state.get(keys.GRID_SHOWN)
    present = state.result.status.index
    if (
        grid is not None
        and (grid.page, grid.only_errors, grid.edits) == (page, only_errors, state.edits)
        and all(number in present for number in grid.rows)
    ):
        return grid
    rows = shown[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    marked = {
        issue.field
        for number in rows
        for issue in state.result.issues.get(number, ())
        if issue.field
    }
    drawn = st.session_state.get(keys.GRIDS_DRAWN, 0) + 1
    st.session_state[keys.GRIDS_DRAWN] = drawn
    sheet = state.result.sheet
    grid = GridPage(
        keys.grid(drawn, rows[0] if rows else 0), rows,
        [column.key for column in sheet.columns if column.key in marked], page, only_errors,
        base=sheet.cells.loc[rows, [column.key for column in sheet.columns]].copy(),
        edits=state.edits,
    )  # fmt: skip
    st.session_state[keys.GRID_SHOWN] = grid
    return grid


def draw(state: Checked, grid: GridPage, rows: list[RowResult]) -> None:
    sheet = state.result.sheet
    if not rows:
        st.success("No rows to show.")
        return
    numbers = grid.rows
    marks: dict[str, dict[int, str]] = {}
    for row in rows:
        for issue in row.issues:
            if issue.field:
                mark = ERROR_MARK if issue.level == "error" else WARNING_MARK
                cell = marks.setdefault(issue.field, {})
                if cell.get(row.row) != ERROR_MARK:
                    cell[row.row] = mark
    frame = pd.DataFrame(
        {
            DELETE: [False] * len(rows),
            "Row": numbers,
            "Status": [STATUS_LABELS[row.status] for row in rows],
        }
    )
    config: dict[str, Any] = {
        DELETE: st.column_config.CheckboxColumn(
            DELETE, width=60, help="Tick the rows to delete, then press Delete ticked rows."
        ),
        "Row": st.column_config.NumberColumn("Row", width=60, format="%d"),
        "Status": st.column_config.TextColumn("Status", width=90),
        "Problems": st.column_config.TextColumn("Problems", width="large"),
        "Changes": st.column_config.TextColumn("Changes (old → new)", width="medium"),
    }
    cells = grid.base
    for column, label in zip(sheet.columns, sheet.labels, strict=True):
        frame[f"cell:{column.key}"] = cells[column.key].tolist()
        config[f"cell:{column.key}"] = st.column_config.TextColumn(label)
        if column.key in grid.marked:
            frame[f"mark:{column.key}"] = [marks.get(column.key, {}).get(n, "") for n in numbers]
            config[f"mark:{column.key}"] = st.column_config.TextColumn(
                "⚠", width=36, help=f"✖ this {inert(label)} cell has an error; ! a warning"
            )
    # The whole messages are listed under the grid too; here they follow the cells.
    frame["Problems"] = [_problems(row) for row in rows]
    frame["Changes"] = [
        "; ".join(
            f"{label}: {old or '(blank)'} → {new or '(blank)'}"
            for label, (old, new) in row.changes.items()
        )
        for row in rows
    ]
    read_only = [name for name in frame.columns if not name.startswith("cell:") and name != DELETE]
    # The same table is sent as the same object, which the browser does not redraw.
    if grid.drawn is None or not grid.drawn[0].equals(frame):
        styled = frame.style.map(
            _mark_style, subset=[n for n in frame.columns if n.startswith("mark:")]
        )
        styled = styled.apply(
            lambda _: [f"color: {STATUS_COLOURS[row.status]}; font-weight: 600" for row in rows],
            subset=["Status"],
        ).set_uuid(grid.key)
        grid.drawn = (frame, styled)
    st.data_editor(
        grid.drawn[1], key=grid.key, hide_index=True, disabled=read_only, num_rows="fixed",
        column_config=config, width="stretch",
    )  # fmt: skip


def problem_list(rows: list[RowResult]) -> None:
    """The whole messages of the rows on the page (the grid's column cuts long ones)."""
    lines = [
        f"- **Row {row.row}**" + (f", {inert(issue.column)}" if issue.column else "")
        + (" (warning)" if issue.level == "warning" else "") + f": {inert(issue.message)}"
        for row in rows
        for issue in row.issues
    ]  # fmt: skip
    if lines:
        with st.expander(f"Problems on this page ({len(lines)})", expanded=len(lines) <= 10):
            st.markdown("\n".join(lines))


def _problems(row: RowResult) -> str:
    return " · ".join(
        ("⚠ " if issue.level == "warning" else "") + issue.message for issue in row.issues
    )


def _mark_style(value: str) -> str:
    if value == ERROR_MARK:
        return "background-color: #fdecea; color: #c62828; font-weight: 700"
    if value == WARNING_MARK:
        return "background-color: #fff4e5; color: #b26a00; font-weight: 700"
    return ""


def grid_edits(grid: GridPage) -> tuple[dict[int, dict[str, str]], list[int]]:
    """The cells whose text in this tab's grid changed since they were last taken, and the
    rows ticked. A cell typed back to its text as drawn is no edit to the browser any more,
    and is taken as that text."""
    value = st.session_state.get(grid.key) or {}
    shown: dict[tuple[int, str], str] = {}
    ticked: list[int] = []
    for position, changes in value.get("edited_rows", {}).items():
        number = grid.rows[int(position)]
        for name, text in changes.items():
            if name == DELETE and text:
                ticked.append(number)
            elif name.startswith("cell:"):
                shown[number, name.removeprefix("cell:")] = "" if text is None else str(text)
    cells: dict[int, dict[str, str]] = {}
    for cell in shown.keys() | grid.taken.keys():
        number, key = cell
        drawn = str(grid.base.at[number, key])
        text = shown.get(cell, drawn)
        if grid.taken.get(cell, drawn) != text:
            grid.taken[cell] = text
            cells.setdefault(number, {})[key] = text
    return cells, ticked
