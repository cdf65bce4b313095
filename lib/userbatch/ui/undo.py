"""Undo on Background processing: a batch's links to its undo (or to what it undid), and the
undo's preview with its Execute."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from userbatch.batches.history import find_batch, undone_by
from userbatch.batches.undo import why_not_undoable
from userbatch.batches.undo_plan import ACTIONS
from userbatch.batches.undo_preview import PREVIEW_HEADER, preview, preview_file, preview_lines
from userbatch.directory.auth import OperatorInfo
from userbatch.errors import UserbatchError
from userbatch.models import Batch
from userbatch.ui import keys
from userbatch.ui.context import AppContext
from userbatch.ui.text import inert
from userbatch.worker.submit import undo_batch

_ACTION_LABELS = {
    "delete": "Delete", "suspend": "Suspend", "restore": "Restore", "keep": "Keep",
}  # fmt: skip


def links(app: AppContext, batch: Batch) -> None:
    """What the batch undid, or what undid it, with a button that shows that batch."""
    linked = None
    if batch.undo_of is not None:
        linked = find_batch(app.engine, batch.undo_of)
        if linked is not None:
            st.info(f"This batch is the undo of '{inert(linked.file_name)}'.")
    else:
        linked = undone_by(app.engine, batch.id)
        if linked is not None:
            st.info(f"This batch was undone by '{inert(linked.file_name)}' ({linked.state}).")
    if linked is not None and st.button(
        "Show that batch", key=keys.SHOW_LINKED, icon=":material/link:"
    ):
        st.session_state[keys.JOBS_SELECTED] = linked.id
        st.session_state.pop(keys.UNDO_PREVIEW, None)
        st.rerun()


def undo_button(app: AppContext, batch: Batch) -> None:
    """ "Undo…": opens the preview of the batch's undo (disabled, with the reason, when the
    batch cannot be undone)."""
    reason = why_not_undoable(app.engine, batch)
    if st.button(
        "Undo…", key=keys.UNDO_OPEN, disabled=reason is not None, icon=":material/undo:",
        help=reason or "See what undoing this batch will do, then undo it.",
    ):  # fmt: skip
        with st.spinner("Looking at what undoing it will do…"):
            st.session_state[keys.UNDO_PREVIEW] = {
                "batch": batch.id, "document": preview(app.engine, batch),
            }  # fmt: skip


def undo_preview(app: AppContext, operator: OperatorInfo, batch: Batch) -> None:
    """The preview opened by "Undo…": counts, each row's undo, its download, and Execute."""
    opened = st.session_state.get(keys.UNDO_PREVIEW)
    if not opened or opened["batch"] != batch.id:
        return
    document = opened["document"]
    counts = document["counts"]
    with st.container(border=True):
        st.markdown(f"**Undo of {inert(batch.file_name)}: what it will do**")
        st.caption(
            "Users the batch created are deleted (suspended instead when they have signed in "
            "or changed since). Every value the batch changed goes back to what it was, "
            "unless it was changed again since: those values are kept, and listed here with "
            "the value before the batch, the batch's and the value now."
        )
        columns = st.columns(len(ACTIONS) + 1)
        for column, action in zip(columns, ACTIONS, strict=False):
            column.metric(_ACTION_LABELS[action], f"{counts[action]:,}")
        columns[-1].metric("Invitations canceled", f"{counts['invitations_canceled']:,}")
        table = pd.DataFrame(preview_lines(document), columns=PREVIEW_HEADER, dtype=str)
        st.dataframe(table, hide_index=True, width="stretch")
        left, middle, right = st.columns(3)
        left.download_button(
            "Download the preview",
            lambda: preview_file(document, upload_encoding=batch.encoding),
            file_name=f"undo_preview_{batch.file_name.rsplit('.', 1)[0]}.csv",
            mime="text/csv", key=keys.DOWNLOAD_UNDO_PREVIEW,
        )  # fmt: skip
        changed = sum(counts[action] for action in ("delete", "suspend", "restore"))
        if middle.button(
            f"Undo: change {changed:,} user(s)", key=keys.UNDO_EXECUTE, type="primary",
            disabled=not changed,
        ):  # fmt: skip
            try:
                undo_id = undo_batch(app.engine, app.settings, operator, batch.id)
            except UserbatchError as exc:
                st.error(inert(str(exc)))
                return
            st.session_state.pop(keys.UNDO_PREVIEW, None)
            st.session_state[keys.JOBS_SELECTED] = undo_id
            st.toast(f"Undoing {inert(batch.file_name)}…", icon=":material/undo:")
            st.rerun()
        if right.button("Close", key=keys.UNDO_CLOSE):
            st.session_state.pop(keys.UNDO_PREVIEW, None)
            st.rerun()
