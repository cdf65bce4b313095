"""The Outbox screen: every message with its state; without SMTP, where mail is kept."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from userbatch.directory.auth import OperatorInfo
from userbatch.errors import UserbatchError
from userbatch.i18n import N_, _
from userbatch.i18n.formats import moment
from userbatch.i18n.recall import recalled
from userbatch.mail.outbox import KeptMessage, cancel_scheduled, list_messages, reissue_link
from userbatch.ui import keys
from userbatch.ui.actions import show_notice
from userbatch.ui.clock import browser_zone_name, time_column, zone_caption
from userbatch.ui.context import AppContext, app_context
from userbatch.ui.session import current_operator
from userbatch.ui.text import inert

# A message's state (a value kept as it is) -> its label, a message id.
STATE_LABELS = {
    "scheduled": N_("scheduled"), "sending": N_("sending"), "sent": N_("sent"),
    "kept": N_("kept"), "failed": N_("failed"), "canceled": N_("canceled"),
}  # fmt: skip
STATES = list(STATE_LABELS)


def state_label(state: str) -> str:
    """How a message's state is shown, in the reader's language."""
    return _(STATE_LABELS[state]) if state in STATE_LABELS else state


def render(app: AppContext, operator: OperatorInfo) -> None:
    st.title(_("Outbox"))
    if app.settings.smtp_url:
        st.caption(
            _("Messages go out through the SMTP server of SMTP_URL; here is each one's state.")
        )
    else:
        st.info(
            _("SMTP_URL is not set, so no e-mail leaves this machine: messages are kept here. "
              "Pass an invitation on by showing a fresh set-password link.")
        )  # fmt: skip
    show_notice(keys.OUTBOX_NOTICE)
    states = st.multiselect(
        _("State"), STATES, key=keys.OUTBOX_STATES, placeholder=_("Any state"),
        format_func=state_label,
    )  # fmt: skip
    messages = list_messages(app.engine, operator=operator, states=states or None)
    if not messages:
        st.info(_("No messages yet."))
        return
    frame = pd.DataFrame(
        {
            "Recipient": [m.recipient for m in messages],
            "Subject": [m.subject for m in messages],
            "State": [state_label(m.state) for m in messages],
            "Send at": [m.send_at for m in messages],
            "Sent or kept at": [m.sent_at for m in messages],
            "Attempts": [m.attempts for m in messages],
            "Last error": [recalled(m.last_error or "") for m in messages],
        }
    )
    event = st.dataframe(
        frame, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
        key=keys.OUTBOX_TABLE,
        column_config={
            "Recipient": _("Recipient"), "Subject": _("Subject"), "State": _("State"),
            "Send at": time_column(_("Send at")),
            "Sent or kept at": time_column(_("Sent or kept at")),
            "Attempts": _("Attempts"), "Last error": _("Last error"),
        },
    )  # fmt: skip
    st.caption(zone_caption())
    if not event.selection.rows:
        st.caption(_("Select a message to read it."))
        return
    message = messages[event.selection.rows[0]]
    with st.container(border=True):
        st.markdown(_("**To:** {recipient}", recipient=inert(message.recipient)))
        st.markdown(_("**Subject:** {subject}", subject=inert(message.subject)))
        zone = browser_zone_name()
        if message.sent_at:
            st.caption(_("Sent or kept at {when}", when=moment(message.sent_at, zone)))
        elif message.state == "scheduled":
            st.caption(_("To be sent at {when}", when=moment(message.send_at, zone)))
        st.text(message.body)
    if message.state == "scheduled":
        _cancel_buttons(app, operator, message)
    kept = message.has_link and message.state == "kept"
    if kept and st.button(_("Show a fresh set-password link"), key=keys.REISSUE):
        try:
            st.code(reissue_link(app.engine, app.settings, operator, message.id), language=None)
            st.caption(_("The link works once; any earlier link of this message stops working."))
        except UserbatchError as exc:
            st.error(inert(str(exc)))


def _cancel_buttons(app: AppContext, operator: OperatorInfo, message: KeptMessage) -> None:
    """Cancel a message that waits for its send time, or every such message of its batch."""
    left, right = st.columns(2)
    if left.button(_("Cancel this message"), key=keys.CANCEL_MESSAGE):
        _canceled(cancel_scheduled(app.engine, operator, message_id=message.id))
    if message.batch_id is not None:
        with right.popover(_("Cancel every scheduled invitation of its batch")):
            st.write(_("The batch's invitations that have not gone out yet will not be sent."))
            if st.button(_("Cancel them"), key=keys.CANCEL_BATCH_MAIL, type="primary"):
                _canceled(cancel_scheduled(app.engine, operator, batch_id=message.batch_id))


def _canceled(count: int) -> None:
    st.session_state[keys.OUTBOX_NOTICE] = (
        _("Canceled {count:,} scheduled message(s).", count=count)
        if count
        else _("Nothing was canceled: the message is no longer waiting (it is being sent or "
               "sent).")
    )  # fmt: skip
    st.rerun()


# Streamlit runs this file as the Outbox screen (app.py).
if __name__ == "__main__":
    _app = app_context()
    _operator = current_operator(_app)
    assert _operator is not None  # app.py lets only signed-in operators reach this screen
    render(_app, _operator)
