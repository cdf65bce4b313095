"""The public page an invitation links to: the invited user sets a password."""

from __future__ import annotations

import streamlit as st

from userbatch.errors import UserbatchError
from userbatch.mail.invitations import accept_invitation, invitation_for
from userbatch.ui import keys
from userbatch.ui.context import AppContext, app_context
from userbatch.ui.forms import differing_passwords, new_password
from userbatch.ui.text import inert


def render(app: AppContext) -> None:
    st.title("Set your password")
    done = st.session_state.get(keys.ACCEPTED_LOGIN)
    if done:
        st.success(
            f"Your password is set. Sign in with login ID **{inert(done)}** and your new password."
        )
        return
    token = st.query_params.get("token")
    if not token:
        st.info("Open this page from the link in your invitation e-mail.")
        return
    try:
        login_id = invitation_for(app.engine, token)
    except UserbatchError as exc:
        st.error(inert(str(exc)))
        return
    st.write(f"Choose the password for login ID **{inert(login_id)}**.")
    with st.form("accept"):
        password = new_password(
            "New password", key=keys.ACCEPT_PASSWORD, min_length=app.settings.password_min_length
        )
        submitted = st.form_submit_button("Set password", type="primary")
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
