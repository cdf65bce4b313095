"""The operator's draft: how it was read, the counts, one page of the grid, the problems, and
what to do next.

Each run takes the grid's edits that are new since the last run (``table.grid_edits``),
puts them into the check through the incremental re-check and saves them to the draft; rows
are deleted by ticking them and pressing "Delete ticked rows".
"""

from __future__ import annotations

import math
from dataclasses import replace
from functools import partial
from typing import Any

import streamlit as st

from userbatch.batches.drafts import add_edit, discard_draft, set_group, set_place
from userbatch.check.report import error_report
from userbatch.check.run import recheck, regroup
from userbatch.directory.auth import OperatorInfo
from userbatch.directory.groups import GroupInfo
from userbatch.files.decode import DELIMITERS
from userbatch.files.download import write_download
from userbatch.ui import keys
from userbatch.ui.batch import execute
from userbatch.ui.batch.state import Checked, GridPage, drafts, reset
from userbatch.ui.batch.table import (
    PAGE_SIZE,
    STATUS_LABELS,
    draw,
    grid_edits,
    grid_page,
    problem_list,
)
from userbatch.ui.batch.upload import encoding_picker, group_name, take_file
from userbatch.ui.context import AppContext
from userbatch.ui.text import inert


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
    grid = grid_page(state, shown, page, only_errors)
    rows = [result.rows[number] for number in grid.rows]
    draw(state, grid, rows)
    _delete_ticked(app, operator, state, grid)
    problem_list(rows)
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


def _take_edits(app: AppContext, operator: OperatorInfo, state: Checked) -> None:
    """Put the grid's new edits into the check (the incremental re-check) and the draft."""
    grid: GridPage | None = st.session_state.get(keys.GRID_SHOWN)
    if grid is None:
        return
    cells, _ = grid_edits(grid)
    if cells:
        in_step = grid.edits == state.edits  # no other tab changed the draft meanwhile
        _change(app, operator, state, cells, [])
        if in_step:
            grid.edits = state.edits


def _delete_ticked(app: AppContext, operator: OperatorInfo, state: Checked, grid: GridPage) -> None:
    _, ticked = grid_edits(grid)
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


def discard(app: AppContext, operator: OperatorInfo, draft_id: int) -> None:
    """End the draft and go back to the start (a button's callback, which Streamlit keeps
    with its arguments for the session: the draft's id, never its check)."""
    discard_draft(app.engine, operator.id, draft_id=draft_id)
    drafts(app.settings.drafts_in_memory).drop(operator.id)
    reset()


def _actions(app: AppContext, operator: OperatorInfo, state: Checked) -> None:
    result = state.result
    counts = result.counts
    left, middle, right = st.columns(3)
    left.download_button(
        "Download rows with errors", partial(_error_file, app, operator),
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
    args = (app, operator, state.draft_id)
    if not state.changes:
        place.button(label, on_click=discard, args=args, key=key)
        return
    with place.popover(label):
        st.write(
            f'Your {state.changes:,} change(s) in the grid will be lost. "Download rows with '
            'errors" keeps the rows that still have errors, with your edits.'
        )
        st.button("Discard draft", on_click=discard, args=args, key=key, type="primary")


def _error_file(app: AppContext, operator: OperatorInfo) -> bytes:
    """The rows with errors of the operator's draft as it is when the button is pressed (the
    download is made then; Streamlit keeps the callable for the session)."""
    state = drafts(app.settings.drafts_in_memory).get(app, operator)
    if state is None:
        return b""
    header, rows = error_report(state.result)
    data, _ = write_download(header, rows, upload_encoding=state.result.sheet.encoding)
    return data
