"""The operator's draft: how it was read, the counts, one page of the grid, the problems, and
what to do next.

Each run first carries out what the browser's grid sent since the last run (``edits.take``):
edits, a paste, "Apply to all", undo and redo, the next error; rows are deleted by ticking
them and pressing "Delete ticked rows".
"""

from __future__ import annotations

import math
from dataclasses import replace
from functools import partial
from typing import Any

import streamlit as st

from userbatch.batches.drafts import discard_draft, set_options, set_place
from userbatch.check.fixes import suggested
from userbatch.check.report import error_report
from userbatch.check.run import rejudge
from userbatch.check.state import STATUS_NAMES, SUSPEND
from userbatch.directory.auth import OperatorInfo
from userbatch.directory.groups import GroupInfo
from userbatch.files.decode import DELIMITERS
from userbatch.files.download import write_download
from userbatch.i18n import N_, _, ngettext
from userbatch.ui import keys
from userbatch.ui.batch import checking, edits, execute, options, sheet
from userbatch.ui.batch.state import Checked, drafts, reset
from userbatch.ui.batch.table import PAGE_SIZE, grid_page, payload, problem_list
from userbatch.ui.batch.upload import encoding_picker, group_name
from userbatch.ui.context import AppContext
from userbatch.ui.text import inert


def checked(app: AppContext, operator: OperatorInfo, working: GroupInfo, state: Checked) -> None:
    """The draft, with the grid to fix it in (one tab at a time: they share the draft)."""
    with state.lock:
        _draw(app, operator, working, state)


def _draw(app: AppContext, operator: OperatorInfo, working: GroupInfo, state: Checked) -> None:
    if st.session_state.get(keys.DRAFT_SHOWN) != state.draft_id:
        _arrive(state, working)  # this tab's first sight of the draft: its place as left
    regrouped = rejudge(app.engine, state.result, working_group=working)
    if regrouped is not state.result:
        state.result = regrouped
        set_options(app.engine, state.draft_id, regrouped)
    # The grid's events, in the order of rows it showed.
    browser = edits.take(app, operator, state, _shown(state, state.only_errors))
    result = state.result
    # What comes and goes above the grid is in containers that are always there: the grid
    # keeps its place among the page's elements, so the browser never draws it anew.
    with st.container():
        if state.notice:
            st.warning(str(state.notice))
            state.notice = None
        _how_it_was_read(app, operator, state)
        for notice in result.sheet.notices:
            st.info(inert(notice))
    options.choices(app, state)
    result = state.result
    counts = result.counts
    labels = STATUS_NAMES | ({SUSPEND: N_("Suspend")} if SUSPEND in counts else {})
    for column, (status, label) in zip(st.columns(5), labels.items(), strict=False):
        column.metric(_(label), f"{counts[status]:,}")
    options.suspended(state)
    left, middle, right = st.columns([2, 1, 1], vertical_alignment="center")
    only_errors = left.checkbox(
        _("Show only errors"),
        key=keys.ONLY_ERRORS,
        disabled=not counts["error"] and not state.only_errors,
    )
    fixes = suggested(result)
    with middle:
        edits.suggested_fixes(app, operator, state, fixes)
    with right:
        edits.find_and_replace(app, operator, state, browser.selection)
    shown = _shown(state, only_errors)
    pages = max(1, math.ceil(len(shown) / PAGE_SIZE))
    with st.container():
        page = _pager(pages)
    if (page, only_errors) != (state.page, state.only_errors):
        state.page, state.only_errors = page, only_errors
        set_place(app.engine, state.draft_id, page=page, only_errors=only_errors)
    grid = grid_page(state, shown, page, only_errors)
    rows = result.rows_of(grid.rows)
    if rows:
        sheet.draw(keys.grid(state.draft_id), payload(state, grid, rows, fixes))
    else:
        st.success(_("No rows to show."))
    if notice := st.session_state.pop(keys.GRID_NOTICE, None):
        st.info(notice)
    _delete_ticked(app, operator, state, [n for n in browser.ticked if n in grid.rows])
    problem_list(rows)
    st.caption(
        _("Each bad cell is marked on the cell (✖ error, ▲ warning); its message shows when "
          "you point at it or move to it. Arrow keys move, typing or Enter edits, Enter keeps "
          "the cell, Tab moves on, Esc cancels; F8 goes to the next error (across pages), "
          "Ctrl+Z undoes. A block of cells pasted from Excel (Ctrl+V) fills the cells from the "
          "one selected. Every edit is checked at once and saved to your draft.")
    )  # fmt: skip
    _actions(app, operator, state)


def _pager(pages: int) -> int:
    """The page shown: the pager's, or the one an event asked for. The ask is kept until a
    run starts with the pager at that page in the browser: a run stopped by the browser's
    next message starts again with the pager's value as the browser had it, which would
    undo the change."""
    asked = st.session_state.get(keys.GRID_PAGE_ASKED)
    if asked is not None:
        if st.session_state.get(keys.GRID_PAGE) == asked:
            del st.session_state[keys.GRID_PAGE_ASKED]
        else:
            st.session_state[keys.GRID_PAGE] = asked
    return min(st.pagination(pages, key=keys.GRID_PAGE) if pages > 1 else 1, pages)


def _shown(state: Checked, only_errors: bool) -> list[int]:
    """The rows in the order the grid shows them."""
    return state.result.numbers("error" if only_errors else None)


def _arrive(state: Checked, working: GroupInfo) -> None:
    """Open the draft where it was left: its working group, page and filter."""
    st.session_state[keys.DRAFT_SHOWN] = state.draft_id
    st.session_state[keys.ONLY_ERRORS] = state.only_errors
    st.session_state[keys.GRID_PAGE] = state.page
    options.arrive(state)
    st.session_state.pop(keys.GRID_SHOWN, None)
    group = state.result.options.working_group
    if group.id != working.id:
        st.session_state[keys.PENDING_GROUP] = group.id  # the sidebar picks it next run
        st.rerun()


def _how_it_was_read(app: AppContext, operator: OperatorInfo, state: Checked) -> None:
    result = state.result
    sheet = result.sheet
    st.markdown(
        ngettext("**{name}** · {n:,} row · working group **{group}**",
                 "**{name}** · {n:,} rows · working group **{group}**", sheet.rows,
                 name=inert(sheet.file_name), group=inert(group_name(result.options.working_group)))
    )  # fmt: skip
    if sheet.encoding == "xlsx":
        st.caption(_("Read as an Excel workbook (first sheet)."))
        return
    left, right = st.columns(2)
    with left:
        encoding = encoding_picker(
            state.source, state.version, _("Encoding (detected)"), sheet.encoding
        )
    with right:
        delimiters = list(DELIMITERS)
        delimiter = st.selectbox(
            _("Delimiter (detected)"), delimiters, index=delimiters.index(sheet.delimiter),
            format_func=lambda d: _(DELIMITERS[d]).capitalize(), key=keys.delimiter(state.version),
        )  # fmt: skip
    if encoding is not None or delimiter != sheet.delimiter:
        source = replace(state.source, encoding=encoding or sheet.encoding, delimiter=delimiter)
        was = result.options
        checking.checkings().begin(
            app, operator, was.working_group, source, state.version + 1,
            blank=was.blank, complete=was.complete,
        )  # fmt: skip
        st.rerun()


def _delete_ticked(
    app: AppContext, operator: OperatorInfo, state: Checked, ticked: list[int]
) -> None:
    """Deleting the rows ticked in the grid, after a confirmation: it cannot be undone."""
    label = (
        _("Delete ticked rows ({count})", count=len(ticked)) if ticked else _("Delete ticked rows")
    )
    with st.popover(label, disabled=not ticked):
        st.write(
            _("Delete {count:,} row(s) from the draft? Undo cannot bring them back (the rows "
              "stay in your file, to upload again).", count=len(ticked))
        )  # fmt: skip
        if st.button(
            _("Delete {count:,} row(s)", count=len(ticked)), key=keys.DELETE_TICKED, type="primary"
        ):
            edits.change(app, operator, state, {}, ticked)
            st.rerun()  # the page's rows change


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
        _("Download rows with errors"), partial(_error_file, app, operator),
        file_name=f"errors_{result.sheet.file_name.rsplit('.', 1)[0]}.csv", mime="text/csv",
        disabled=not counts["error"], key=keys.DOWNLOAD_ERRORS, on_click="ignore",
        help=_("The rows with errors as you uploaded them (with your edits), plus a Message "
               "column."),
    )  # fmt: skip
    _leave(app, operator, middle, _("Re-upload"), keys.REUPLOAD, state)
    _leave(app, operator, right, _("Back to batch user registration/update"), keys.BACK, state)
    runnable = counts["new"] + counts["update"]
    if counts["error"]:
        st.warning(
            _("{count:,} row(s) still have errors. Fix them in the grid, delete them, or "
              "download them and upload a corrected file.", count=counts["error"])
        )  # fmt: skip
    elif not runnable:
        st.info(
            _("Nothing to register or update: every row is Unchanged (it matches the user as "
              "stored).")
        )  # fmt: skip
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
            _('Your {count:,} change(s) in the grid will be lost. "Download rows with errors" '
              "keeps the rows that still have errors, with your edits.", count=state.changes)
        )  # fmt: skip
        st.button(_("Discard draft"), on_click=discard, args=args, key=key, type="primary")


def _error_file(app: AppContext, operator: OperatorInfo) -> bytes:
    """The rows with errors of the operator's draft as it is when the button is pressed (the
    download is made then; Streamlit keeps the callable for the session)."""
    state = drafts(app.settings.drafts_in_memory).get(app, operator)
    if state is None:  # a file that says why, rather than an empty one
        return (
            _("This draft was discarded or executed in another tab or window: no rows.") + "\r\n"
        ).encode()
    header, rows = error_report(state.result)
    data, _encoding = write_download(header, rows, upload_encoding=state.result.sheet.encoding)
    return data
