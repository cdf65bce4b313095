"""Background processing: the job history, a batch's detail, and the sidebar's jobs panel."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from userbatch.batches.history import (
    BatchSummary,
    active_batches,
    batch_for,
    batch_invitations,
    batch_states,
    list_batches,
    results_file,
    row_outcomes,
)
from userbatch.batches.undo import OUTCOMES as UNDO_RESULTS
from userbatch.directory.auth import OperatorInfo
from userbatch.errors import UserbatchError
from userbatch.models import ACTIVE_STATES, BatchState
from userbatch.ui import keys, language, undo
from userbatch.ui.clock import time_column, zone_caption
from userbatch.ui.context import AppContext, app_context
from userbatch.ui.session import current_operator
from userbatch.ui.text import inert
from userbatch.worker.maintenance import sync_batch_states
from userbatch.worker.submit import cancel_batch, retry_batch

# The states a history can be filtered by: those of the workers' batches first.
STATES = [state.value for state in BatchState if state is not BatchState.STORED] + ["stored"]
PANEL_SECONDS = 3
# Widths that keep file, state, progress, counts and invitations within a 1400 px window
# beside the sidebar; the times follow, and the pinned file name stays when they scroll in.
HISTORY_COLUMNS = {
    "File": st.column_config.TextColumn(width=140, pinned=True),
    "Operator": st.column_config.TextColumn(width=80),
    "Working group": st.column_config.TextColumn(width=110),
    "State": st.column_config.TextColumn(width=75),
    "Progress": st.column_config.ProgressColumn(width=85, format="percent"),
    "Created": st.column_config.NumberColumn(width=70, format="localized"),
    "Updated": st.column_config.NumberColumn(width=70, format="localized"),
    "Unchanged": st.column_config.NumberColumn(width=85, format="localized"),
    "Failed": st.column_config.NumberColumn(width=60, format="localized"),
    "Invitations": st.column_config.TextColumn(
        width=140,
        help="The batch's invitation e-mails: scheduled, sent, kept in the Outbox (no SMTP "
        "server set) or failed",
    ),
}
HISTORY_TIMES = ("Submitted", "Started", "Finished")
OUTCOMES = ["created", "updated", "unchanged"]
UNDO_OUTCOMES = list(UNDO_RESULTS.values())


def _sync(app: AppContext) -> None:
    try:
        sync_batch_states(app.engine, app.settings)
    except UserbatchError as exc:
        st.warning(
            f"The background service does not answer, so states may be stale: {inert(str(exc))}"
        )


def history(app: AppContext, operator: OperatorInfo) -> None:
    st.title("Background processing")
    _sync(app)
    linked = st.query_params.pop("batch", None)  # a notice's link to a batch's detail
    if linked:
        st.session_state[keys.JOBS_SELECTED] = linked
    left, right = st.columns(2)
    states = left.multiselect("State", STATES, key=keys.JOBS_STATES, placeholder="Any state")
    login = None
    if operator.is_admin:
        login = right.text_input("Operator (login)", key=keys.JOBS_OPERATOR) or None
    batches = list_batches(app.engine, operator, states=states or None, operator_login=login)
    if not batches:
        st.info("No batches yet. Executed batches appear here, newest first.")
        return
    event = st.dataframe(
        _history_frame(batches), hide_index=True, width="stretch", on_select="rerun",
        selection_mode="single-row", key=keys.JOBS_TABLE,
        column_config=HISTORY_COLUMNS | {name: time_column(width=130) for name in HISTORY_TIMES},
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
        st.caption("Select a batch to see each row's outcome.")


def _history_frame(batches: list[BatchSummary]) -> pd.DataFrame:
    """One line per batch; what it is and where it stands come before when it ran."""
    return pd.DataFrame(
        {
            "File": [b.file_name for b in batches],
            "Operator": [b.operator for b in batches],
            "Working group": [b.group or "(whole organisation)" for b in batches],
            "State": [b.state for b in batches],
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
    return " · ".join(f"{count:,} {state}" for state, count in counts.items() if count) or "—"


def detail(app: AppContext, operator: OperatorInfo, batch_id: str) -> None:
    try:
        batch = batch_for(app.engine, operator, batch_id)
    except UserbatchError as exc:
        st.error(inert(str(exc)))
        return
    st.subheader(inert(batch.file_name))
    share = batch.done / batch.total if batch.total else 0.0
    st.progress(share, text=f"{batch.state} · {batch.done:,} of {batch.total:,} rows")
    if batch.error:
        st.error(inert(batch.error))
    undo.links(app, batch)
    first = ("Deleted", batch.deleted) if batch.undo_of else ("Created", batch.created)
    columns = st.columns(4)
    for column, (label, value) in zip(
        columns,
        [first, ("Updated", batch.updated), ("Unchanged", batch.unchanged),
         ("Failed", batch.failed)],
        strict=True,
    ):  # fmt: skip
        column.metric(label, f"{value:,}")
    left, middle, right, last = st.columns(4)
    left.download_button(
        "Download results", lambda: results_file(app.engine, batch_id),
        file_name=f"results_{batch.file_name.rsplit('.', 1)[0]}.csv", mime="text/csv",
        key=keys.DOWNLOAD_RESULTS,
        help="The uploaded columns of every row, plus Result and Message.",
    )  # fmt: skip
    if middle.button(
        "Cancel",
        key=keys.CANCEL_BATCH,
        disabled=not BatchState(batch.state).is_waiting,
    ):
        _act(lambda: cancel_batch(app.engine, app.settings, operator, batch_id))
    if right.button("Retry", key=keys.RETRY_BATCH, disabled=batch.state != "failed"):
        _act(lambda: retry_batch(app.engine, app.settings, operator, batch_id))
    with last:
        undo.undo_button(app, batch)
    undo.undo_preview(app, operator, batch)
    outcomes = UNDO_OUTCOMES if batch.undo_of else OUTCOMES
    outcome = st.selectbox("Rows", ["All", *outcomes, "failed", "pending"], key=keys.JOBS_OUTCOME)
    rows = row_outcomes(app.engine, batch_id, outcome=None if outcome == "All" else outcome)
    table = pd.DataFrame(
        [(r.row, r.key, r.checked_as, r.outcome, r.message) for r in rows],
        columns=["Row", "Key", "Checked as", "Result", "Message"],
    )
    st.dataframe(table, hide_index=True, width="stretch")
    invitations = batch_invitations(app.engine, batch_id)
    if invitations:
        st.caption("Invitations")
        sent = pd.DataFrame(
            [
                (m.recipient, m.state, m.send_at, m.sent_at, m.attempts, m.last_error)
                for m in invitations
            ],
            columns=["Recipient", "State", "Send at", "Sent at", "Attempts", "Last error"],
        )
        st.dataframe(sent, hide_index=True, width="stretch")


def _act(action: Callable[[], object]) -> None:
    try:
        action()
    except UserbatchError as exc:
        st.error(inert(str(exc)))
        return
    st.rerun()


@st.fragment(run_every=PANEL_SECONDS)
def panel(app: AppContext, operator: OperatorInfo) -> None:
    """The operator's queued and running batches, refreshed by itself; a toast when one ends."""
    language.resume()
    st.caption("Background jobs")
    running = active_batches(app.engine, operator.id)
    watched: dict[str, str] = st.session_state.setdefault(keys.JOBS_WATCHED, {})
    ended = set(watched) - {batch.id for batch in running}
    for batch_id, (state, name) in batch_states(app.engine, sorted(ended)).items():
        if state == "finished":
            st.toast(f"{inert(name)}: finished", icon=":material/check_circle:")
        elif state not in ACTIVE_STATES:
            st.toast(f"{inert(name)}: {state}", icon=":material/error:")
        watched.pop(batch_id, None)
    if not running:
        st.caption("No running or queued jobs.")
    for batch in running:
        watched[batch.id] = batch.state
        share = batch.done / batch.total if batch.total else 0.0
        st.progress(
            share, text=f"{inert(batch.file_name)}: {batch.state} ({batch.done:,}/{batch.total:,})"
        )


# Streamlit runs this file as the Background processing screen (app.py).
if __name__ == "__main__":
    _app = app_context()
    _operator = current_operator(_app)
    assert _operator is not None  # app.py lets only signed-in operators reach this screen
    history(_app, _operator)
