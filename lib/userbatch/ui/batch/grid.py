"""The checked file: how it was read, the counts, one page of the grid, the problems, and
what to do next.

The run after an edit or a deletion in the grid puts it straight into the check through the
incremental re-check and draws a fresh grid. Streamlit styles only read-only columns, so
each column that has a bad cell on the page gets a narrow read-only marker column beside
it: ✖ for an error, ! for a warning, next to the very cell.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import pandas as pd
import streamlit as st

from userbatch.check.report import error_report
from userbatch.check.run import recheck, regroup
from userbatch.check.state import CheckedSheet, RowResult
from userbatch.directory.auth import OperatorInfo
from userbatch.directory.groups import GroupInfo
from userbatch.files.decode import DELIMITERS
from userbatch.files.download import write_download
from userbatch.ui import keys
from userbatch.ui.batch import execute
from userbatch.ui.batch.state import Checked, put, reset
from userbatch.ui.batch.upload import encoding_picker, group_name, read
from userbatch.ui.context import AppContext
from userbatch.ui.text import inert

PAGE_SIZE = 50
STATUS_LABELS = {"new": "New", "update": "Update", "unchanged": "Unchanged", "error": "Error"}
STATUS_COLOURS = {"new": "#1b7f3b", "update": "#1f5fbf", "unchanged": "#6b6b6b", "error": "#c62828"}
ERROR_MARK, WARNING_MARK = "✖", "!"


def checked(app: AppContext, operator: OperatorInfo, working: GroupInfo, state: Checked) -> None:
    """The checked file, with the grid to fix it in."""
    state.result = regroup(app.engine, state.result, working)
    _take_edits(state)
    result = state.result
    _how_it_was_read(app, operator, state)
    for notice in result.sheet.notices:
        st.info(inert(notice))
    counts = result.counts
    for column, (status, label) in zip(st.columns(4), STATUS_LABELS.items(), strict=True):
        column.metric(label, f"{counts[status]:,}")
    only_errors = st.checkbox(
        "Show only errors", key=keys.ONLY_ERRORS, disabled=not counts["error"]
    )
    shown = result.numbers("error" if only_errors else None)
    pages = max(1, math.ceil(len(shown) / PAGE_SIZE))
    page = st.pagination(pages, key=keys.GRID_PAGE) if pages > 1 else 1
    page = min(page, pages)
    rows = [result.rows[number] for number in shown[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]]
    _grid(state, rows)
    _problem_list(rows)
    st.caption(
        "Edit a cell to fix it (double-click, type, Enter): the row is checked again at once. "
        "To delete rows, tick them on the left and press Delete."
    )
    _actions(app, operator, state)


def _how_it_was_read(app: AppContext, operator: OperatorInfo, state: Checked) -> None:
    result = state.result
    sheet = result.sheet
    st.markdown(
        f"**{inert(sheet.file_name)}** · {sheet.rows:,} rows · working group "
        f"**{inert(group_name(result.options.working_group))}**"
    )
    if sheet.encoding == "xlsx":
        st.caption("Read as an Excel workbook (first sheet).")
        return
    left, right = st.columns(2)
    with left:
        encoding = encoding_picker(
            state.source, state.version, "Encoding (detected)", sheet.encoding
        )
    with right:
        delimiters = list(DELIMITERS)
        delimiter = st.selectbox(
            "Delimiter (detected)", delimiters, index=delimiters.index(sheet.delimiter),
            format_func=lambda d: DELIMITERS[d].capitalize(), key=keys.delimiter(state.version),
        )  # fmt: skip
    if encoding is not None or delimiter != sheet.delimiter:
        source = replace(state.source, encoding=encoding or sheet.encoding, delimiter=delimiter)
        put(read(app, operator, result.options.working_group, source, state.version + 1))
        st.rerun()


def _grid(state: Checked, rows: list[RowResult]) -> None:
    sheet = state.result.sheet
    if not rows:
        st.success("No rows to show.")
        return
    numbers = [row.row for row in rows]
    marks: dict[str, dict[int, str]] = {}
    for row in rows:
        for issue in row.issues:
            if issue.field:
                mark = ERROR_MARK if issue.level == "error" else WARNING_MARK
                cell = marks.setdefault(issue.field, {})
                if cell.get(row.row) != ERROR_MARK:
                    cell[row.row] = mark
    frame = pd.DataFrame({"Row": numbers, "Status": [STATUS_LABELS[row.status] for row in rows]})
    config: dict[str, Any] = {
        "Row": st.column_config.NumberColumn("Row", width=60, format="%d"),
        "Status": st.column_config.TextColumn("Status", width=90),
        "Problems": st.column_config.TextColumn("Problems", width="large"),
        "Changes": st.column_config.TextColumn("Changes (old → new)", width="medium"),
    }
    cells = sheet.cells.loc[numbers]
    for column, label in zip(sheet.columns, sheet.labels, strict=True):
        frame[f"cell:{column.key}"] = cells[column.key].tolist()
        config[f"cell:{column.key}"] = st.column_config.TextColumn(label)
        if column.key in marks:
            frame[f"mark:{column.key}"] = [marks[column.key].get(n, "") for n in numbers]
            config[f"mark:{column.key}"] = st.column_config.TextColumn(
                "⚠", width=36, help=f"✖ this {inert(label)} cell has an error; ! a warning"
            )
    # The whole messages are listed under the grid too; here they follow the cells.
    frame["Problems"] = [_problems(row) for row in rows]
    if any(row.changes for row in rows):
        frame["Changes"] = [
            "; ".join(
                f"{label}: {old or '(blank)'} → {new or '(blank)'}"
                for label, (old, new) in row.changes.items()
            )
            for row in rows
        ]
    read_only = [name for name in frame.columns if not name.startswith("cell:")]
    styled = frame.style.map(
        _mark_style, subset=[n for n in frame.columns if n.startswith("mark:")]
    )
    styled = styled.apply(
        lambda column: [f"color: {STATUS_COLOURS[row.status]}; font-weight: 600" for row in rows],
        subset=["Status"],
    )
    state.grid_key, state.grid_rows = keys.grid(state.version, numbers[0]), numbers
    st.data_editor(
        styled, key=state.grid_key, hide_index=True, disabled=read_only, num_rows="delete",
        column_config=config, width="stretch",
    )  # fmt: skip


def _problem_list(rows: list[RowResult]) -> None:
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


def _take_edits(state: Checked) -> None:
    """Put the last grid's edits and deletions into the check (the incremental re-check)."""
    grid = st.session_state.get(state.grid_key) if state.grid_key else None
    if not grid:
        return
    numbers = state.grid_rows
    edits: dict[int, dict[str, str]] = {}
    for position, changes in grid.get("edited_rows", {}).items():
        for name, value in changes.items():
            if name.startswith("cell:"):
                edits.setdefault(numbers[int(position)], {})[name.removeprefix("cell:")] = (
                    "" if value is None else str(value)
                )
    deleted = [numbers[int(position)] for position in grid.get("deleted_rows", [])]
    if edits or deleted:
        state.changes += sum(map(len, edits.values())) + len(deleted)
        recheck(state.result, edits, deleted)
        del st.session_state[state.grid_key]
        state.version += 1


def _actions(app: AppContext, operator: OperatorInfo, state: Checked) -> None:
    result = state.result
    counts = result.counts
    left, middle, right = st.columns(3)
    left.download_button(
        "Download rows with errors", lambda: _error_file(result),
        file_name=f"errors_{result.sheet.file_name.rsplit('.', 1)[0]}.csv", mime="text/csv",
        disabled=not counts["error"], key=keys.DOWNLOAD_ERRORS,
        help="The rows with errors as you uploaded them (with your edits), plus a Message column.",
    )  # fmt: skip
    _leave(middle, "Re-upload", keys.REUPLOAD, state)
    _leave(right, "Back to batch user registration/update", keys.BACK, state)
    runnable = counts["new"] + counts["update"]
    if counts["error"]:
        st.warning(
            f"{counts['error']:,} row(s) still have errors. Fix them in the grid, delete them, "
            "or download them and upload a corrected file."
        )
    elif not runnable:
        st.info(
            "Nothing to register or update: every row is Unchanged (it matches the user as stored)."
        )
    execute.offer(app, operator, state)


def _leave(place: Any, label: str, key: str, state: Checked) -> None:
    """A button that drops the checked file; after changes in the grid it asks first."""
    if not state.changes:
        place.button(label, on_click=reset, key=key)
        return
    with place.popover(label):
        st.write(
            f'Your {state.changes:,} change(s) in the grid will be lost. "Download rows with '
            'errors" keeps the rows that still have errors, with your edits.'
        )
        st.button("Discard my changes", on_click=reset, key=key, type="primary")


def _error_file(result: CheckedSheet) -> bytes:
    header, rows = error_report(result)
    data, _ = write_download(header, rows, upload_encoding=result.sheet.encoding)
    return data
