"""The sidebar's "API tokens": the operator makes, names and revokes their own tokens for
the HTTP API. A new token is shown once, right after it is made; a list shows the others by
their first characters only."""

from __future__ import annotations

import streamlit as st

from userbatch.directory.auth import OperatorInfo
from userbatch.directory.tokens import (
    MAX_DAYS,
    STATE_LABELS,
    TokenInfo,
    create_token,
    list_tokens,
    revoke_token,
)
from userbatch.errors import UserbatchError
from userbatch.i18n import _
from userbatch.i18n.formats import moment
from userbatch.ui import keys
from userbatch.ui.clock import browser_zone_name
from userbatch.ui.context import AppContext
from userbatch.ui.text import inert


def popover(app: AppContext, operator: OperatorInfo) -> None:
    """The popover's content: the token just made, the form to make one, the list."""
    st.caption(
        _("A token lets a program use the HTTP API under /api/v1 as you, with your role "
          "and groups. Send it as 'Authorization: Bearer <token>'.")
    )  # fmt: skip
    with st.form("api_token", border=False, clear_on_submit=True):
        name = st.text_input(_("What it is for"), key=keys.TOKEN_NAME,
                             placeholder=_("e.g. HR nightly export"))  # fmt: skip
        days = st.number_input(
            _("Expires after (days, 0 = never)"), min_value=0, max_value=MAX_DAYS, value=90,
            key=keys.TOKEN_DAYS,
        )  # fmt: skip
        if st.form_submit_button(_("Create token"), key=keys.TOKEN_CREATE):
            try:
                new = create_token(app.engine, operator, name, expires_days=int(days) or None)
            except UserbatchError as exc:
                st.error(inert(str(exc)))
            else:  # shown here, in this run only: no rerun could close the popover first
                st.success(_("Your new token. It is shown this once: copy it now."))
                st.code(new.token, language=None)
    for info in list_tokens(app.engine, operator):
        _token_line(app, operator, info)


def _token_line(app: AppContext, operator: OperatorInfo, info: TokenInfo) -> None:
    state = info.state()
    expires = moment(info.expires_at, browser_zone_name()) if info.expires_at else _("never")
    used = moment(info.last_used_at, browser_zone_name()) if info.last_used_at else _("never")
    text, button = st.columns([4, 1], vertical_alignment="center")
    text.markdown(
        _("**{name}** `{prefix}…` · {state} · expires {expires} · last used {used}",
          name=inert(info.name), prefix=info.prefix, state=_(STATE_LABELS[state]),
          expires=expires, used=used)
    )  # fmt: skip
    if state == "active" and button.button(
        _("Revoke"), key=keys.revoke_token(info.id), help=_("The token stops working at once.")
    ):
        revoke_token(app.engine, operator, info.id)
        st.rerun()
