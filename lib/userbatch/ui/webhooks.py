"""The Webhooks screen (admins only): the addresses told when batches end, and each delivery
with its state, attempts and last error."""

from __future__ import annotations

import functools

import pandas as pd
import streamlit as st

from userbatch.directory.auth import OperatorInfo
from userbatch.errors import UserbatchError
from userbatch.i18n import N_, _
from userbatch.mail.webhooks import (
    EVENTS,
    SIGNATURE_HEADER,
    add_webhook,
    list_deliveries,
    list_webhooks,
    remove_webhook,
)
from userbatch.ui import keys
from userbatch.ui.actions import act, show_notice
from userbatch.ui.clock import time_column, zone_caption
from userbatch.ui.context import AppContext, app_context
from userbatch.ui.session import current_operator
from userbatch.ui.text import inert

DELIVERY_STATES = {
    "pending": N_("waiting"), "sending": N_("sending"), "delivered": N_("delivered"),
    "failed": N_("failed"),
}  # fmt: skip


def render(app: AppContext, operator: OperatorInfo) -> None:
    st.title(_("Webhooks"))
    if not operator.is_admin:
        st.error(_("Only administrators can register webhooks."))
        return
    st.caption(
        _("When a batch finishes, fails or is undone, each address registered for the event "
          "gets a POST of JSON, signed in the {header} header (HMAC-SHA256 of the time, a "
          "dot and the body, with the webhook's secret). A delivery that is not answered "
          "with 2xx is tried again, waiting twice as long each time.", header=SIGNATURE_HEADER)
    )  # fmt: skip
    show_notice(keys.WEBHOOKS_NOTICE)
    _add_form(app, operator)
    for hook in list_webhooks(app.engine):
        text, button = st.columns([5, 1], vertical_alignment="center")
        text.markdown(f"{inert(hook.url)} · {', '.join(hook.events)}")
        if button.button(_("Remove"), key=keys.remove_webhook(hook.id)):
            act(functools.partial(remove_webhook, app.engine, operator, hook.id),
                _("The webhook is removed."), notice=keys.WEBHOOKS_NOTICE)  # fmt: skip
    st.subheader(_("Deliveries"))
    deliveries = list_deliveries(app.engine)
    if not deliveries:
        st.info(_("No event has been delivered yet."))
        return
    st.dataframe(
        pd.DataFrame(
            {
                "Event": [d.event for d in deliveries],
                "Address": [d.url for d in deliveries],
                "State": [_(DELIVERY_STATES.get(d.state, d.state)) for d in deliveries],
                "Attempts": [d.attempts for d in deliveries],
                "Next attempt": [
                    d.next_attempt_at if d.state == "pending" else None for d in deliveries
                ],
                "Last error": [d.last_error or "" for d in deliveries],
                "Delivered": [d.delivered_at for d in deliveries],
                "Id": [d.event_id for d in deliveries],
            }
        ),
        hide_index=True, width="stretch",
        column_config={
            "Event": _("Event"), "Address": _("Address"), "State": _("State"),
            "Attempts": _("Attempts"), "Next attempt": time_column(_("Next attempt")),
            "Last error": _("Last error"), "Delivered": time_column(_("Delivered at")),
            "Id": _("Event id"),
        },
    )  # fmt: skip
    st.caption(zone_caption())


def _add_form(app: AppContext, operator: OperatorInfo) -> None:
    with st.form("add_webhook", clear_on_submit=True):
        url = st.text_input(_("Address (URL)"), key=keys.WEBHOOK_URL,
                            placeholder="https://hr.example.com/userbatch-events")  # fmt: skip
        events = st.multiselect(_("Events"), list(EVENTS), default=list(EVENTS),
                                key=keys.WEBHOOK_EVENTS)  # fmt: skip
        secret = st.text_input(
            _("Secret (blank: make one)"), type="password", key=keys.WEBHOOK_SECRET,
            help=_("The receiver checks each request's signature with it."),
        )  # fmt: skip
        if not st.form_submit_button(_("Add webhook"), key=keys.WEBHOOK_ADD):
            return
    try:
        _hook, made = add_webhook(
            app.engine, app.settings, operator, url, events=tuple(events), secret=secret or None
        )
    except UserbatchError as exc:
        st.error(inert(str(exc)))
        return
    st.success(_("The webhook is added. Its secret, shown this once:"))
    st.code(made, language=None)


# Streamlit runs this file as the Webhooks screen (app.py).
if __name__ == "__main__":
    _app = app_context()
    _operator = current_operator(_app)
    assert _operator is not None  # app.py lets only signed-in operators reach this screen
    render(_app, _operator)
