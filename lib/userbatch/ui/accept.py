"""The public page an invitation links to: the invited user sets a password.

It speaks the invited user's language as their browser tells it (an operator's choice, if
one is signed in in the same browser, is not theirs).
"""

from __future__ import annotations

import streamlit as st

from userbatch.errors import UserbatchError
from userbatch.i18n import _, set_language
from userbatch.mail.invitations import accept_invitation, invitation_for
from userbatch.ui import keys, language
from userbatch.ui.context import AppContext, app_context
from userbatch.ui.forms import differing_passwords, new_password
from userbatch.ui.text import inert


def render(app: AppContext) -> None:
    set_language(language.browser())
    st.title(_("Set your password"))
    done = st.session_state.get(keys.ACCEPTED_LOGIN)
    if done:
        st.success(
            _("Your password is set. Sign in with login ID **{login}** and your new password.",
              login=inert(done))
        )  # fmt: skip
        return
    token = st.query_params.get("token")
    if not token:
        st.info(_("Open this page from the link in your invitation e-mail."))
        return
    try:
        login_id = invitation_for(app.engine, token)
    except UserbatchError as exc:
        st.error(inert(str(exc)))
        return
    st.write(_("Choose the password for login ID **{login}**.", login=inert(login_id)))
    with st.form("accept"):
        password = new_password(
            _("New password"), key=keys.ACCEPT_PASSWORD,
            min_length=app.settings.password_min_length,
        )  # fmt: skip
        submitted = st.form_submit_button(_("Set password"), type="primary")
    if not submitted:
        return
    if password is None:
        differing_passwords()
        return
    try:
        login = accept_invitation(app.engine, app.settings, token, password)
        st.session_state[keys.ACCEPTED_LOGIN] = login
    except UserbatchError as exc:
        st.error(inert(str(exc)))
        return
    st.rerun()


# Streamlit runs this file as the Set your password page (app.py).
if __name__ == "__main__":
    render(app_context())
