"""The operator's changes of the draft: the grid's events, find and replace, undo and redo.

Each change goes through the incremental re-check at once and is saved to the draft with
what its cells held before, as one step that Undo takes back (``batches.drafts.History``).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from userbatch.batches.drafts import Kind, Step, add_edit
from userbatch.check.fixes import Cells, like_it, next_error, pasted, replaced
from userbatch.check.report import place
from userbatch.check.run import recheck
from userbatch.directory.auth import OperatorInfo
from userbatch.i18n import _
from userbatch.ui import keys
from userbatch.ui.batch import sheet
from userbatch.ui.batch.state import Checked, drafts
from userbatch.ui.batch.table import PAGE_SIZE, SECRET_FIELDS
from userbatch.ui.context import AppContext
from userbatch.ui.text import inert


def take(app: AppContext, operator: OperatorInfo, state: Checked, shown: list[int]) -> sheet.Sent:
    """Carry out the grid's new events in order (``shown``: the rows in the order the grid
    shows them, for a paste and the next error); returns what the grid sent."""
    sent = sheet.sent(keys.grid(state.draft_id), st.session_state.get(keys.GRID_TAKEN, ("", 0)))
    fields = [column.key for column in state.result.sheet.columns]
    for event in sent.events:
        st.session_state[keys.GRID_TAKEN] = (sent.grid_id, event["seq"])
        _event(app, operator, state, event, shown, fields)
    return sent


def _event(
    app: AppContext,
    operator: OperatorInfo,
    state: Checked,
    event: dict[str, Any],
    shown: list[int],
    fields: list[str],
) -> None:
    op = event.get("op")
    if op == "edit":
        cells: Cells = {}
        for row, key, text in event.get("cells") or []:
            if key in fields:
                cells.setdefault(int(row), {})[str(key)] = str(text)
        change(app, operator, state, cells)
    elif op == "paste":
        block = [[str(text) for text in line] for line in event.get("block") or []]
        cells, dropped = pasted(shown, fields, int(event["row"]), str(event["col"]), block)
        change(app, operator, state, cells)
        if dropped:
            st.session_state[keys.GRID_NOTICE] = _(
                "{count:,} pasted cell(s) fell past the last row or column and were left out.",
                count=dropped,
            )
    elif op == "apply_all":
        change(
            app, operator, state,
            like_it(state.result, int(event["row"]), str(event["col"]), str(event["code"])),
        )  # fmt: skip
    elif op in ("undo", "redo"):
        undo_or_redo(app, operator, state, op)
    elif op in ("next", "prev"):
        found = next_error(
            state.result, shown, fields, int(event["row"]), str(event["col"]), back=op == "prev"
        )
        if found is not None:
            row, col = found
            st.session_state[keys.GRID_PAGE_ASKED] = shown.index(row) // PAGE_SIZE + 1
            asked = ":".join(map(str, st.session_state[keys.GRID_TAKEN]))
            st.session_state[keys.GRID_FOCUS] = {"id": asked, "row": row, "col": col}


def change(
    app: AppContext,
    operator: OperatorInfo,
    state: Checked,
    cells: Cells,
    deleted: list[int] | None = None,
    kind: Kind = "edit",
) -> None:
    """One change of the draft: re-checked at once and saved with what its cells held
    (cells that would not change are left out; nothing left, nothing is saved)."""
    deleted = deleted or []
    table = state.result.table.cells
    before: Cells = {}
    kept: Cells = {}
    for row, values in cells.items():
        for key, text in values.items():
            if row in table.index and table.at[row, key] != text.strip():
                before.setdefault(row, {})[key] = table.at[row, key]
                kept.setdefault(row, {})[key] = text
    if not kept and not deleted:
        return
    recheck(state.result, kept, deleted)
    try:
        state.edits = add_edit(
            app.engine, app.settings, state.draft_id, cells=kept, deleted=deleted,
            result=state.result, before=before, kind=kind,
        )  # fmt: skip
    except LookupError:
        drafts(app.settings.drafts_in_memory).drop(operator.id)
        st.error(
            _("This draft was discarded or executed in another tab or window; the edit was not "
              "kept.")
        )  # fmt: skip
        st.stop()
    state.history.took(kind, Step(kept, before) if kept else None)
    state.changes += sum(map(len, kept.values())) + len(deleted)


def undo_or_redo(app: AppContext, operator: OperatorInfo, state: Checked, op: str) -> None:
    """Take back the last step (``undo``), or do again the last one taken back (``redo``)."""
    steps = state.history.undo if op == "undo" else state.history.redo
    if steps:
        step = steps[-1]
        change(
            app, operator, state, step.before if op == "undo" else step.cells,
            kind="undo" if op == "undo" else "redo",
        )  # fmt: skip


def find_and_replace(
    app: AppContext, operator: OperatorInfo, state: Checked, selection: list[tuple[int, str]]
) -> None:
    """Find and replace in one column or in the cells selected in the grid, with a preview
    of the cells that change; the whole replace is one step to undo."""
    labels = state.result.label_of
    scopes = ["column", "selection"] if selection else ["column"]
    with st.popover(_("Find and replace")):
        scope = st.radio(
            _("In"), scopes, key=keys.REPLACE_SCOPE, horizontal=True,
            format_func=lambda s: _("One column") if s == "column" else
            _("The {count:,} cells selected in the grid", count=len(selection)),
        )  # fmt: skip
        column = None
        if scope == "column":
            column = st.selectbox(
                _("Column"), list(labels), format_func=labels.__getitem__, key=keys.REPLACE_COLUMN
            )
        find = st.text_input(_("Find"), key=keys.REPLACE_FIND)
        replacement = st.text_input(_("Replace with"), key=keys.REPLACE_WITH)
        left, right = st.columns(2)
        whole = left.checkbox(_("Whole cell only"), key=keys.REPLACE_WHOLE)
        match_case = right.checkbox(_("Match case"), key=keys.REPLACE_CASE)
        cells = replaced(
            state.result, find, replacement, field=column,
            within=selection if scope == "selection" else (), whole=whole, match_case=match_case,
        )  # fmt: skip
        count = sum(map(len, cells.values()))
        if find:
            _preview(state, cells, labels, count)
        if st.button(
            _("Replace {count:,} cell(s)", count=count),
            disabled=not count,
            key=keys.REPLACE,
            type="primary",
        ):
            change(app, operator, state, cells)
            st.toast(_("Replaced {count:,} cell(s). Undo puts them back.", count=count))
            st.rerun()


FIXES_LISTED = 20


def suggested_fixes(
    app: AppContext,
    operator: OperatorInfo,
    state: Checked,
    groups: dict[tuple[str, str, str], Cells],
) -> None:
    """Every fix the check knows (``check.fixes.suggested``), grouped by problem and text:
    one group or all at once, each one step to undo."""
    total = sum(sum(map(len, cells.values())) for cells in groups.values())
    labels = state.result.label_of
    with st.popover(_("Suggested fixes ({count:,})", count=total), disabled=not total):
        listed = list(groups.items())[:FIXES_LISTED]
        for number, ((_code, key, text), cells) in enumerate(listed):
            left, right = st.columns([4, 1], vertical_alignment="center")
            fix = next(iter(next(iter(cells.values())).values()))
            shown = _("(hidden)") if key in SECRET_FIELDS else inert(text) or _("(blank)")
            left.markdown(f"{inert(labels[key])}: {shown} → **{inert(fix)}** ({len(cells):,})")
            if right.button(_("Apply"), key=keys.apply_fix(number)):
                _apply(app, operator, state, cells)
        if len(groups) > FIXES_LISTED:
            st.caption(_("… and {count:,} more kinds.", count=len(groups) - FIXES_LISTED))
        if st.button(
            _("Apply all {count:,}", count=total), key=keys.APPLY_EVERY_FIX, type="primary"
        ):
            every: Cells = {}
            for cells in groups.values():
                for row, values in cells.items():
                    every.setdefault(row, {}).update(values)
            _apply(app, operator, state, every)


def _apply(app: AppContext, operator: OperatorInfo, state: Checked, cells: Cells) -> None:
    change(app, operator, state, cells)
    count = sum(map(len, cells.values()))
    st.toast(_("Applied {count:,} suggested fix(es). Undo takes them back.", count=count))
    st.rerun()


def _preview(state: Checked, cells: Cells, labels: dict[str, str], count: int) -> None:
    if not count:
        st.caption(_("No cell matches."))
        return
    table = state.result.table.cells
    blank = _("(blank)")
    shown = [
        f"- {place(row, inert(labels[key]))}: {inert(table.at[row, key]) or blank} → "
        f"{inert(text) or blank}"
        for row, values in list(cells.items())[:5]
        for key, text in values.items()
        if key not in SECRET_FIELDS
    ]  # fmt: skip
    title = _("**{count:,} cell(s) will change**", count=count)
    st.markdown(title + ("\n" + "\n".join(shown) if shown else ""))
