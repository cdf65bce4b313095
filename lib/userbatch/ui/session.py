"""Who is signed in: the session-state keys, expiry on inactivity, sign-in and sign-out."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from userbatch.directory import auth
from userbatch.directory.auth import OperatorInfo
from userbatch.errors import UserbatchError
from userbatch.models import utcnow
from userbatch.ui import keys
from userbatch.ui.context import AppContext
from userbatch.ui.forms import differing_passwords, new_password
from userbatch.ui.keys import LAST_SEEN, OPERATOR_ID
from userbatch.ui.text import inert


def current_operator(app: AppContext) -> OperatorInfo | None:
    """The signed-in operator, or None; ends a session idle for longer than allowed."""
    operator_id = st.session_state.get(OPERATOR_ID)
    if operator_id is None:
        return None
    now = utcnow()
    idle = now - st.session_state.get(LAST_SEEN, now)
    if idle > dt.timedelta(minutes=app.settings.session_minutes):
        sign_out(notice="Your session expired; please sign in again.")
        return None
    operator = auth.get_operator(app.engine, operator_id)
    if operator is None:
        sign_out(notice="Your operator account is no longer active.")
        return None
    st.session_state[LAST_SEEN] = now
    return operator


def start_session(operator: OperatorInfo) -> None:
    st.session_state[OPERATOR_ID] = operator.id
    st.session_state[LAST_SEEN] = utcnow()


def sign_out(*, notice: str | None = None) -> None:
    """Forget everything this browser session held."""
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    if notice:
        st.session_state[keys.SIGN_IN_NOTICE] = notice


def first_run_form(app: AppContext) -> None:
    """The first visit on an empty database: name the organisation, create the first admin."""
    st.title("Welcome to userbatch")
    st.write(
        "This installation is new. Name your organisation (the root of the group tree) and "
        "create the first administrator."
    )
    with st.form("first_run"):
        organisation = st.text_input("Organisation name", max_chars=30, key=keys.SETUP_ORGANISATION)
        login = st.text_input("Administrator login", key=keys.SETUP_LOGIN)
        password = new_password(
            "Password", key=keys.SETUP_PASSWORD, min_length=app.settings.password_min_length
        )
        submitted = st.form_submit_button("Create administrator", type="primary")
    if not submitted:
        return
    if password is None:
        differing_passwords()
        return
    try:
        operator = auth.initialize(
            app.engine,
            organisation=organisation,
            login=login,
            password=password,
            min_password_length=app.settings.password_min_length,
        )
    except UserbatchError as exc:
        st.error(inert(str(exc)))
        return
    start_session(operator)
    st.rerun()


def sign_in_form(app: AppContext) -> None:
    """The sign-in page."""
    st.title("Sign in to userbatch")
    notice = st.session_state.pop(keys.SIGN_IN_NOTICE, None)
    if notice:
        st.info(notice)
    with st.form("sign_in"):
        login = st.text_input("Login", key=keys.SIGN_IN_LOGIN)
        password = st.text_input("Password", type="password", key=keys.SIGN_IN_PASSWORD)
        submitted = st.form_submit_button("Sign in", type="primary")
    if not submitted:
        return
    try:
        operator = auth.sign_in(app.engine, login, password)
    except UserbatchError as exc:
        st.error(inert(str(exc)))
        return
    start_session(operator)
    st.rerun()
