"""Background processing: the job history and a batch's detail."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from userbatch.batches.history import (
    BatchSummary,
    batch_for,
    batch_invitations,
    list_batches,
    results_file,
    row_outcomes,
    state_name,
)
from userbatch.batches.undo import OUTCOMES as UNDO_RESULTS
from userbatch.directory.auth import OperatorInfo
from userbatch.errors import UserbatchError
from userbatch.i18n import N_, _, language, speaking
from userbatch.i18n.formats import number
from userbatch.i18n.recall import recalled
from userbatch.models import BatchState
from userbatch.ui import keys, undo
from userbatch.ui.clock import time_column, zone_caption
from userbatch.ui.context import AppContext, app_context
from userbatch.ui.outbox import state_label as invitation_state
from userbatch.ui.session import current_operator
from userbatch.ui.text import inert
from userbatch.worker.maintenance import sync_batch_states
from userbatch.worker.submit import cancel_batch, retry_batch

# The states a history can be filtered by: those of the workers' batches first.
STATES = [state.value for state in BatchState if state is not BatchState.STORED] + ["stored"]
# What a batch, or its undo, did with a row (a value kept as it is) -> its label.
OUTCOME_LABELS = {
    "pending": N_("pending"), "created": N_("created"),
    "updated": N_("updated"), "unchanged": N_("unchanged"), "suspended": N_("suspended"),
    "failed": N_("failed"), "deleted": N_("deleted"), "restored": N_("restored"),
    "kept": N_("left as it was"),
}  # fmt: skip
# What the check decided for a row -> its label.
CHECKED_LABELS = {
    "new": N_("New"), "update": N_("Update"), "unchanged": N_("Unchanged"),
    "suspend": N_("Suspend"),
}  # fmt: skip
# The history's columns (their keys stay English; their headers are in the reader's language).
HISTORY_HEADERS = {
    "File": N_("File"), "Operator": N_("Operator"), "Working group": N_("Working group"),
    "State": N_("State"), "Progress": N_("Progress"), "Created": N_("Created"),
    "Updated": N_("Updated"), "Unchanged": N_("Unchanged"), "Failed": N_("Failed"),
    "Invitations": N_("Invitations"), "Submitted": N_("Submitted"), "Started": N_("Started"),
    "Finished": N_("Finished"),
}  # fmt: skip
HISTORY_TIMES = ("Submitted", "Started", "Finished")
OUTCOMES = ["created", "updated", "unchanged"]
UNDO_OUTCOMES = list(UNDO_RESULTS.values())


def state_label(state: str) -> str:
    """How a batch's state is shown, in the reader's language."""
    return str(state_name(state))


def outcome_label(outcome: str) -> str:
    """How a row's outcome is shown, in the reader's language ("All" for every row)."""
    if outcome == "All":
        return _("All")
    return _(OUTCOME_LABELS[outcome]) if outcome in OUTCOME_LABELS else outcome


def _history_columns() -> dict[str, Any]:
    """Widths that keep file, state, progress, counts and invitations within a 1400 px window
    beside the sidebar; the times follow, and the pinned file name stays when they scroll in."""
    header = {key: _(msgid) for key, msgid in HISTORY_HEADERS.items()}
    count = st.column_config.NumberColumn
    return {
        "File": st.column_config.TextColumn(header["File"], width=140, pinned=True),
        "Operator": st.column_config.TextColumn(header["Operator"], width=80),
        "Working group": st.column_config.TextColumn(header["Working group"], width=110),
        "State": st.column_config.TextColumn(header["State"], width=75),
        "Progress": st.column_config.ProgressColumn(header["Progress"], width=85, format="percent"),
        "Created": count(header["Created"], width=70, format="localized"),
        "Updated": count(header["Updated"], width=70, format="localized"),
        "Unchanged": count(header["Unchanged"], width=85, format="localized"),
        "Failed": count(header["Failed"], width=60, format="localized"),
        "Invitations": st.column_config.TextColumn(
            header["Invitations"],
            width=140,
            help=_(
                "The batch's invitation e-mails: scheduled, sent, kept in the Outbox (no "
                "SMTP server set) or failed"
            ),
        ),
    } | {name: time_column(header[name], width=130) for name in HISTORY_TIMES}


def _sync(app: AppContext) -> None:
    try:
        sync_batch_states(app.engine, app.settings)
    except UserbatchError as exc:
        st.warning(
            _("The background service does not answer, so states may be stale: {why}",
              why=inert(str(exc)))
        )  # fmt: skip


def history(app: AppContext, operator: OperatorInfo) -> None:
    st.title(_("Background processing"))
    _sync(app)
    linked = st.query_params.pop("batch", None)  # a notice's link to a batch's detail
    if linked:
        st.session_state[keys.JOBS_SELECTED] = linked
    left, right = st.columns(2)
    states = left.multiselect(
        _("State"), STATES, key=keys.JOBS_STATES, placeholder=_("Any state"),
        format_func=state_label,
    )  # fmt: skip
    login = None
    if operator.is_admin:
        login = right.text_input(_("Operator (login)"), key=keys.JOBS_OPERATOR) or None
    batches = list_batches(app.engine, operator, states=states or None, operator_login=login)
    if not batches:
        st.info(_("No batches yet. Executed batches appear here, newest first."))
        return
    event = st.dataframe(
        _history_frame(batches), hide_index=True, width="stretch", on_select="rerun",
        selection_mode="single-row", key=keys.JOBS_TABLE, column_config=_history_columns(),
    )  # fmt: skip
    st.caption(zone_caption())
    chosen = event.selection.rows if event is not None else []
    picked = batches[chosen[0]].id if chosen else None
    # A row picked in the table is shown until another is picked or a link shows another.
    if picked is not None and picked != st.session_state.get(keys.JOBS_PICKED):
        st.session_state[keys.JOBS_SELECTED] = picked
    st.session_state[keys.JOBS_PICKED] = picked
    selected = st.session_state.get(keys.JOBS_SELECTED)
    if selected in {b.id for b in batches}:
        detail(app, operator, selected)
    else:
        st.caption(_("Select a batch to see each row's outcome."))


def _history_frame(batches: list[BatchSummary]) -> pd.DataFrame:
    """One line per batch; what it is and where it stands come before when it ran."""
    return pd.DataFrame(
        {
            "File": [b.file_name for b in batches],
            "Operator": [b.operator for b in batches],
            "Working group": [b.group or _("(whole organisation)") for b in batches],
            "State": [state_label(b.state) for b in batches],
            "Progress": [b.done / b.total if b.total else 0.0 for b in batches],
            "Created": [b.created for b in batches],
            "Updated": [b.updated for b in batches],
            "Unchanged": [b.unchanged for b in batches],
            "Failed": [b.failed for b in batches],
            "Invitations": [_invitations_text(b.invitations) for b in batches],
            "Submitted": [b.submitted_at for b in batches],
            "Started": [b.started_at for b in batches],
            "Finished": [b.finished_at for b in batches],
        }
    )


def _invitations_text(counts: dict[str, int]) -> str:
    """``"12 sent · 3 failed"``: the counts that are not zero, "—" when there are none."""
    return (
        " · ".join(
            _("{count} {state}", count=number(count), state=invitation_state(state))
            for state, count in counts.items()
            if count
        )
        or "—"
    )


def detail(app: AppContext, operator: OperatorInfo, batch_id: str) -> None:
    try:
        batch = batch_for(app.engine, operator, batch_id)
    except UserbatchError as exc:
        st.error(inert(str(exc)))
        return
    st.subheader(inert(batch.file_name))
    share = batch.done / batch.total if batch.total else 0.0
    st.progress(
        share,
        text=_("{state} · {done} of {total} rows", state=state_label(batch.state),
               done=number(batch.done), total=number(batch.total)),
    )  # fmt: skip
    if batch.error:
        st.error(inert(recalled(batch.error)))
    undo.links(app, batch)
    first = (_("Deleted"), batch.deleted) if batch.undo_of else (_("Created"), batch.created)
    columns = st.columns(4)
    for column, (label, value) in zip(
        columns,
        [first, (_("Updated"), batch.updated), (_("Unchanged"), batch.unchanged),
         (_("Failed"), batch.failed)],
        strict=True,
    ):  # fmt: skip
        column.metric(label, number(value))
    left, middle, right, last = st.columns(4)
    reader = language()  # the download is made later, outside this run: in this language
    left.download_button(
        _("Download results"), lambda: _results(app, batch_id, reader),
        file_name=f"results_{batch.file_name.rsplit('.', 1)[0]}.csv", mime="text/csv",
        key=keys.DOWNLOAD_RESULTS, on_click="ignore",
        help=_("The uploaded columns of every row, plus Result and Message."),
    )  # fmt: skip
    if middle.button(
        _("Cancel"),
        key=keys.CANCEL_BATCH,
        disabled=not BatchState(batch.state).is_waiting,
    ):
        _act(lambda: cancel_batch(app.engine, app.settings, operator, batch_id))
    if right.button(_("Retry"), key=keys.RETRY_BATCH, disabled=batch.state != "failed"):
        _act(lambda: retry_batch(app.engine, app.settings, operator, batch_id))
    with last:
        undo.undo_button(app, batch)
    undo.undo_preview(app, operator, batch)
    outcomes = UNDO_OUTCOMES if batch.undo_of else OUTCOMES
    outcome = st.selectbox(
        _("Rows"), ["All", *outcomes, "failed", "pending"], key=keys.JOBS_OUTCOME,
        format_func=outcome_label,
    )  # fmt: skip
    rows = row_outcomes(app.engine, batch_id, outcome=None if outcome == "All" else outcome)
    table = pd.DataFrame(
        [
            (r.row, r.key, _checked_label(r.checked_as), outcome_label(r.outcome), r.message)
            for r in rows
        ],
        columns=["Row", "Key", "Checked as", "Result", "Message"],
    )
    st.dataframe(
        table, hide_index=True, width="stretch",
        column_config={
            "Row": _("Row"), "Key": _("Key"), "Checked as": _("Checked as"),
            "Result": _("Result"), "Message": _("Message"),
        },
    )  # fmt: skip
    invitations = batch_invitations(app.engine, batch_id)
    if invitations:
        st.caption(_("Invitations"))
        sent = pd.DataFrame(
            [
                (m.recipient, invitation_state(m.state), m.send_at, m.sent_at, m.attempts,
                 recalled(m.last_error))
                for m in invitations
            ],
            columns=["Recipient", "State", "Send at", "Sent at", "Attempts", "Last error"],
        )  # fmt: skip
        st.dataframe(
            sent, hide_index=True, width="stretch",
            column_config={
                "Recipient": _("Recipient"), "State": _("State"),
                "Send at": time_column(_("Send at")), "Sent at": time_column(_("Sent at")),
                "Attempts": _("Attempts"), "Last error": _("Last error"),
            },
        )  # fmt: skip


def _checked_label(checked_as: str) -> str:
    return _(CHECKED_LABELS[checked_as]) if checked_as in CHECKED_LABELS else checked_as


def _results(app: AppContext, batch_id: str, reader: str) -> bytes:
    """The results download, its messages in the ``reader``'s language."""
    with speaking(reader):
        return results_file(app.engine, batch_id)


def _act(action: Callable[[], object]) -> None:
    try:
        action()
    except UserbatchError as exc:
        st.error(inert(str(exc)))
        return
    st.rerun()


# Streamlit runs this file as the Background processing screen (app.py).
if __name__ == "__main__":
    _app = app_context()
    _operator = current_operator(_app)
    assert _operator is not None  # app.py lets only signed-in operators reach this screen
    history(_app, _operator)
