"""The operator's draft: how it was read, the counts, one page of the grid, the problems, and
what to do next.

Each run takes the grid's edits that are new since the last run, puts them into the check
through the incremental re-check and saves them to the draft. The grid keeps its identity
(the same rows, columns and key) while its page and filter stay, so an edit committed while
the page reruns stays in it and is taken by the next run instead of being dropped; rows are
deleted by ticking them and pressing "Delete ticked rows". Streamlit styles only read-only
columns, so each column that had a bad cell on the page when it was drawn gets a narrow
read-only marker column beside it: ✖ for an error, ! for a warning, next to the very cell.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import pandas as pd
import streamlit as st

from userbatch.batches.drafts import add_edit, discard_draft, set_group, set_place
from userbatch.check.report import error_report
from userbatch.check.run import recheck, regroup
from userbatch.check.state import CheckedSheet, RowResult
from userbatch.directory.auth import OperatorInfo
from userbatch.directory.groups import GroupInfo
from userbatch.files.decode import DELIMITERS
from userbatch.files.download import write_download
from userbatch.ui import keys
from userbatch.ui.batch import execute
from userbatch.ui.batch.state import Checked, GridPage, drafts, reset
from userbatch.ui.batch.upload import encoding_picker, group_name, take_file
from userbatch.ui.context import AppContext
from userbatch.ui.text import inert

PAGE_SIZE = 50
STATUS_LABELS = {"new": "New", "update": "Update", "unchanged": "Unchanged", "error": "Error"}
STATUS_COLOURS = {"new": "#1b7f3b", "update": "#1f5fbf", "unchanged": "#6b6b6b", "error": "#c62828"}
ERROR_MARK, WARNING_MARK = "✖", "!"
DELETE = "Delete"  # the grid's tick column


def checked(app: AppContext, operator: OperatorInfo, working: GroupInfo, state: Checked) -> None:
    """The draft, with the grid to fix it in (one tab at a time: they share the draft)."""
    with state.lock:
        _draw(app, operator, working, state)


def _draw(app: AppContext, operator: OperatorInfo, working: GroupInfo, state: Checked) -> None:
    if st.session_state.get(keys.DRAFT_SHOWN) != state.draft_id:
        _arrive(state, working)  # this tab's first sight of the draft: its place as left
    regrouped = regroup(app.engine, state.result, working)
    if regrouped is not state.result:
        state.result = regrouped
        set_group(app.engine, state.draft_id, regrouped)
        st.session_state.pop(keys.GRID_SHOWN, None)
    _take_edits(app, operator, state)
    result = state.result
    if state.notice:
        st.warning(state.notice)
        state.notice = None
    _how_it_was_read(app, operator, state)
    for notice in result.sheet.notices:
        st.info(inert(notice))
    counts = result.counts
    for column, (status, label) in zip(st.columns(4), STATUS_LABELS.items(), strict=True):
        column.metric(label, f"{counts[status]:,}")
    only_errors = st.checkbox(
        "Show only errors",
        key=keys.ONLY_ERRORS,
        disabled=not counts["error"] and not state.only_errors,
    )
    shown = result.numbers("error" if only_errors else None)
    pages = max(1, math.ceil(len(shown) / PAGE_SIZE))
    page = min(st.pagination(pages, key=keys.GRID_PAGE) if pages > 1 else 1, pages)
    if (page, only_errors) != (state.page, state.only_errors):
        state.page, state.only_errors = page, only_errors
        set_place(app.engine, state.draft_id, page=page, only_errors=only_errors)
    grid = _grid_page(state, shown, page, only_errors)
    rows = [result.rows[number] for number in grid.rows]
    _grid(state, grid, rows)
    _delete_ticked(app, operator, state, grid)
    _problem_list(rows)
    st.caption(
        "Edit a cell to fix it (double-click, type, Enter): the row is checked again at once "
        "and the draft is saved. To delete rows, tick them in the Delete column and press "
        "Delete ticked rows."
    )
    _actions(app, operator, state)


def _arrive(state: Checked, working: GroupInfo) -> None:
    """Open the draft where it was left: its working group, page and filter."""
    st.session_state[keys.DRAFT_SHOWN] = state.draft_id
    st.session_state[keys.ONLY_ERRORS] = state.only_errors
    st.session_state[keys.GRID_PAGE] = state.page
    st.session_state.pop(keys.GRID_SHOWN, None)
    group = state.result.options.working_group
    if group.id != working.id:
        st.session_state[keys.PENDING_GROUP] = group.id  # the sidebar picks it next run
        st.rerun()


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
        take_file(app, operator, result.options.working_group, source, state.version + 1)
        st.rerun()


def _grid_page(state: Checked, shown: list[int], page: int, only_errors: bool) -> GridPage:
    """This tab's grid: the one drawn last while its page, filter and rows stay, else anew."""
    grid: GridPage | None = st.session_state.get(keys.GRID_SHOWN)
    present = state.result.status.index
    if (
        grid is not None
        and (grid.page, grid.only_errors) == (page, only_errors)
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
    grid = GridPage(
        keys.grid(drawn, rows[0] if rows else 0), rows,
        [column.key for column in state.result.sheet.columns if column.key in marked],
        page, only_errors,
    )  # fmt: skip
    st.session_state[keys.GRID_SHOWN] = grid
    return grid


def _grid(state: Checked, grid: GridPage, rows: list[RowResult]) -> None:
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
    cells = sheet.cells.loc[numbers]
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
    # While the table is what the browser shows already (what was sent, with the browser's
    # own edits), it is sent exactly as before: new data would redraw the grid and close a
    # cell editor being typed in.
    if grid.drawn is None or not _as_shown(grid).equals(frame):
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


def _as_shown(grid: GridPage) -> pd.DataFrame:
    """The table the browser shows: the one sent last, with the edits taken from it."""
    assert grid.drawn is not None
    shown = grid.drawn[0].copy()
    position = {number: index for index, number in enumerate(grid.rows)}
    for (number, key), text in grid.taken.items():
        shown.at[position[number], f"cell:{key}"] = text
    return shown


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


def _grid_edits(grid: GridPage) -> tuple[dict[int, dict[str, str]], list[int]]:
    """The cells edited in this tab's grid since they were last taken, and the rows ticked."""
    value = st.session_state.get(grid.key)
    if not value:
        return {}, []
    cells: dict[int, dict[str, str]] = {}
    ticked: list[int] = []
    for position, changes in value.get("edited_rows", {}).items():
        number = grid.rows[int(position)]
        for name, text in changes.items():
            if name == DELETE and text:
                ticked.append(number)
            elif name.startswith("cell:"):
                cell = (number, name.removeprefix("cell:"))
                text = "" if text is None else str(text)
                if grid.taken.get(cell) != text:
                    grid.taken[cell] = text
                    cells.setdefault(number, {})[cell[1]] = text
    return cells, ticked


def _take_edits(app: AppContext, operator: OperatorInfo, state: Checked) -> None:
    """Put the grid's new edits into the check (the incremental re-check) and the draft."""
    grid: GridPage | None = st.session_state.get(keys.GRID_SHOWN)
    if grid is None:
        return
    cells, _ = _grid_edits(grid)
    if cells:
        _change(app, operator, state, cells, [])


def _delete_ticked(app: AppContext, operator: OperatorInfo, state: Checked, grid: GridPage) -> None:
    _, ticked = _grid_edits(grid)
    if st.button(
        f"Delete ticked rows ({len(ticked)})" if ticked else "Delete ticked rows",
        disabled=not ticked, key=keys.DELETE_TICKED,
    ):  # fmt: skip
        _change(app, operator, state, {}, ticked)
        st.session_state.pop(keys.GRID_SHOWN, None)  # the page's rows change
        st.rerun()


def _change(
    app: AppContext,
    operator: OperatorInfo,
    state: Checked,
    cells: dict[int, dict[str, str]],
    deleted: list[int],
) -> None:
    """One edit of the draft: re-checked at once and saved."""
    recheck(state.result, cells, deleted)
    try:
        state.edits = add_edit(
            app.engine, app.settings, state.draft_id, cells=cells, deleted=deleted,
            result=state.result,
        )  # fmt: skip
    except LookupError:
        drafts(app.settings.drafts_in_memory).drop(operator.id)
        st.error(
            "This draft was discarded or executed in another tab or window; the edit was not kept."
        )
        st.stop()
    state.changes += sum(map(len, cells.values())) + len(deleted)


def discard(app: AppContext, operator: OperatorInfo, state: Checked) -> None:
    """End the draft and go back to the start (a button's callback)."""
    discard_draft(app.engine, operator.id, draft_id=state.draft_id)
    drafts(app.settings.drafts_in_memory).drop(operator.id)
    reset()


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
    _leave(app, operator, middle, "Re-upload", keys.REUPLOAD, state)
    _leave(app, operator, right, "Back to batch user registration/update", keys.BACK, state)
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


def _leave(
    app: AppContext, operator: OperatorInfo, place: Any, label: str, key: str, state: Checked
) -> None:
    """A button that ends the draft; after changes in the grid it asks first."""
    args = (app, operator, state)
    if not state.changes:
        place.button(label, on_click=discard, args=args, key=key)
        return
    with place.popover(label):
        st.write(
            f'Your {state.changes:,} change(s) in the grid will be lost. "Download rows with '
            'errors" keeps the rows that still have errors, with your edits.'
        )
        st.button("Discard draft", on_click=discard, args=args, key=key, type="primary")


def _error_file(result: CheckedSheet) -> bytes:
    header, rows = error_report(result)
    data, _ = write_download(header, rows, upload_encoding=result.sheet.encoding)
    return data
