"""The sidebar's jobs panel: the operator's queued and running batches, refreshed by itself."""

from __future__ import annotations

import streamlit as st

from userbatch.batches.history import BatchProgress, active_batches, batch_states, state_name
from userbatch.directory.auth import OperatorInfo
from userbatch.i18n import _
from userbatch.i18n.formats import number
from userbatch.models import ACTIVE_STATES
from userbatch.ui import keys, language
from userbatch.ui.context import AppContext
from userbatch.ui.text import inert

# While one of the operator's batches is queued or running, the panel follows it every
# BUSY_SECONDS; otherwise it looks every IDLE_SECONDS for one started elsewhere (another tab,
# the command line, the API). A batch started in this tab shows at once: starting it reruns
# the page. Every open tab polls: ten idle tabs cost the server a run every 3 s, not 3 a second.
BUSY_SECONDS = 3
IDLE_SECONDS = 30


@st.fragment(run_every=IDLE_SECONDS)
def panel(app: AppContext, operator: OperatorInfo) -> None:
    """The operator's queued and running batches, refreshed by itself; a toast when one ends."""
    running = active_batches(app.engine, operator.id)
    if running or st.session_state.get(keys.JOBS_WATCHED):
        _following(app, operator)  # a fragment of its own, dropped by this one's next run
    else:
        _draw(app, operator, running)


@st.fragment(run_every=BUSY_SECONDS)
def _following(app: AppContext, operator: OperatorInfo) -> None:
    _draw(app, operator, active_batches(app.engine, operator.id))


def _draw(app: AppContext, operator: OperatorInfo, running: list[BatchProgress]) -> None:
    language.resume()
    st.caption(_("Background jobs"))
    watched: dict[str, str] = st.session_state.setdefault(keys.JOBS_WATCHED, {})
    ended = set(watched) - {batch.id for batch in running}
    for batch_id, (state, name) in batch_states(app.engine, sorted(ended)).items():
        if state == "finished":
            st.toast(_("{name}: finished", name=inert(name)), icon=":material/check_circle:")
        elif state not in ACTIVE_STATES:
            st.toast(
                _("{name}: {state}", name=inert(name), state=state_name(state)),
                icon=":material/error:",
            )
        watched.pop(batch_id, None)
    if not running:
        st.caption(_("No running or queued jobs."))
    for batch in running:
        watched[batch.id] = batch.state
        share = batch.done / batch.total if batch.total else 0.0
        st.progress(
            share,
            text=_("{name}: {state} ({done}/{total})", name=inert(batch.file_name),
                   state=state_name(batch.state), done=number(batch.done),
                   total=number(batch.total)),
        )  # fmt: skip
