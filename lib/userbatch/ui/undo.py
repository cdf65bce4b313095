"""Undo on Background processing: a batch's links to its undo (or to what it undid), and the
undo's preview with its Execute."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from userbatch.batches.history import find_batch, state_name, undone_by
from userbatch.batches.undo import why_not_undoable
from userbatch.batches.undo_plan import ACTIONS
from userbatch.batches.undo_preview import PREVIEW_HEADER, preview, preview_file, preview_lines
from userbatch.directory.auth import OperatorInfo
from userbatch.errors import UserbatchError
from userbatch.i18n import N_, _
from userbatch.models import Batch
from userbatch.ui import keys
from userbatch.ui.context import AppContext
from userbatch.ui.text import inert
from userbatch.worker.submit import undo_batch

# An undo's action (a value kept as it is) -> its name for people, a message id.
_ACTION_LABELS = {
    "delete": N_("Delete"), "suspend": N_("Suspend"), "restore": N_("Restore"), "keep": N_("Keep"),
}  # fmt: skip
# The preview's columns (``PREVIEW_HEADER``, the download's header) -> their names on screen.
_PREVIEW_LABELS = {
    "Row": N_("Row"), "Key": N_("Key"), "Undo": N_("Undo"), "Field": N_("Field"),
    "Before": N_("Before the batch"), "Batch": N_("The batch's value"), "Now": N_("Value now"),
    "Message": N_("Message"),
}  # fmt: skip


def links(app: AppContext, batch: Batch) -> None:
    """What the batch undid, or what undid it, with a button that shows that batch."""
    linked = None
    if batch.undo_of is not None:
        linked = find_batch(app.engine, batch.undo_of)
        if linked is not None:
            st.info(_("This batch is the undo of '{name}'.", name=inert(linked.file_name)))
    else:
        linked = undone_by(app.engine, batch.id)
        if linked is not None:
            st.info(
                _("This batch was undone by '{name}' ({state}).", name=inert(linked.file_name),
                  state=state_name(linked.state))
            )  # fmt: skip
    if linked is not None and st.button(
        _("Show that batch"), key=keys.SHOW_LINKED, icon=":material/link:"
    ):
        st.session_state[keys.JOBS_SELECTED] = linked.id
        st.session_state.pop(keys.UNDO_PREVIEW, None)
        st.rerun()


def undo_button(app: AppContext, batch: Batch) -> None:
    """ "Undo…": opens the preview of the batch's undo (disabled, with the reason, when the
    batch cannot be undone)."""
    reason = why_not_undoable(app.engine, batch)
    if st.button(
        _("Undo…"), key=keys.UNDO_OPEN, disabled=reason is not None, icon=":material/undo:",
        help=str(reason) if reason else _("See what undoing this batch will do, then undo it."),
    ):  # fmt: skip
        with st.spinner(_("Looking at what undoing it will do…")):
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
        st.markdown(_("**Undo of {name}: what it will do**", name=inert(batch.file_name)))
        st.caption(
            _("Users the batch created are deleted (suspended instead when they have signed in "
              "or changed since). Every value the batch changed goes back to what it was, "
              "unless it was changed again since: those values are kept, and listed here with "
              "the value before the batch, the batch's and the value now.")
        )  # fmt: skip
        columns = st.columns(len(ACTIONS) + 1)
        for column, action in zip(columns, ACTIONS, strict=False):
            column.metric(_(_ACTION_LABELS[action]), f"{counts[action]:,}")
        columns[-1].metric(_("Invitations canceled"), f"{counts['invitations_canceled']:,}")
        _preview_table(document)
        left, middle, right = st.columns(3)
        left.download_button(
            _("Download the preview"),
            lambda: preview_file(document, upload_encoding=batch.encoding),
            file_name=f"undo_preview_{batch.file_name.rsplit('.', 1)[0]}.csv",
            mime="text/csv", key=keys.DOWNLOAD_UNDO_PREVIEW, on_click="ignore",
        )  # fmt: skip
        changed = sum(counts[action] for action in ("delete", "suspend", "restore"))
        if middle.button(
            _("Undo: change {count:,} user(s)", count=changed), key=keys.UNDO_EXECUTE,
            type="primary",
            disabled=not changed,
        ):  # fmt: skip
            try:
                undo_id = undo_batch(app.engine, app.settings, operator, batch.id)
            except UserbatchError as exc:
                st.error(inert(str(exc)))
                return
            st.session_state.pop(keys.UNDO_PREVIEW, None)
            st.session_state[keys.JOBS_SELECTED] = undo_id
            st.toast(_("Undoing {name}…", name=inert(batch.file_name)), icon=":material/undo:")
            st.rerun()
        if right.button(_("Close"), key=keys.UNDO_CLOSE):
            st.session_state.pop(keys.UNDO_PREVIEW, None)
            st.rerun()


def _preview_table(document: dict[str, Any]) -> None:
    """The preview's lines: the columns and the actions named in the reader's language, the
    values as the download has them."""
    table = pd.DataFrame(preview_lines(document), columns=PREVIEW_HEADER, dtype=str)
    config: dict[str, Any] = {
        name: st.column_config.Column(_(_PREVIEW_LABELS[name])) for name in PREVIEW_HEADER
    }
    config["Undo"] = st.column_config.SelectboxColumn(
        _(_PREVIEW_LABELS["Undo"]), options=list(ACTIONS),
        format_func=lambda action: _(_ACTION_LABELS.get(str(action), str(action))),
    )  # fmt: skip
    st.dataframe(table, hide_index=True, width="stretch", column_config=config)
