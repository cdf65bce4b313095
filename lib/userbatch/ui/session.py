"""Who is signed in: a lasting session per browser (its cookie) or per tab, sign-in with a
password or a company account, sign-out here or everywhere.

Every rerun looks the tab's session up again (``directory.sessions.resume``), so a session
ended anywhere — another tab's sign-out, an administrator's change, the idle or absolute
limit — shows the sign-in form at the tab's next rerun. A tab without a session of its own
takes the browser's cookie (a reload, a new tab, a restarted server) or a company identity
that ``st.login`` has just brought.
"""

from __future__ import annotations

import streamlit as st

from userbatch.directory import auth, sessions
from userbatch.directory.auth import OperatorInfo
from userbatch.directory.sessions import SignedIn
from userbatch.errors import SignInError, UserbatchError
from userbatch.i18n import Text, Words, _
from userbatch.ui import keys, web
from userbatch.ui.context import AppContext
from userbatch.ui.forms import differing_passwords, new_password
from userbatch.ui.text import inert

# Kept over a sign-out: what this tab's connection brought with it is spent.
_KEPT_AT_SIGN_OUT = (keys.COMPANY_IDENTITY_USED, keys.DEAD_COOKIE)


def current_operator(app: AppContext) -> OperatorInfo | None:
    """The signed-in operator, or None (the sign-in form is due, with a notice if any)."""
    state = st.session_state
    session_id = state.get(keys.SESSION_ID)
    if session_id is None:
        signed = _from_browser(app)
    else:
        try:
            signed = sessions.resume(app.engine, app.settings, session_id=session_id)
        except SignInError as exc:
            _forget(notice=exc)  # its words are made when shown
            return None
    if signed is None:
        return None
    state[keys.SESSION_ID] = signed.session_id
    return signed.operator


def _from_browser(app: AppContext) -> SignedIn | None:
    """The sign-in this tab's connection brought: the session cookie, or a company identity."""
    state = st.session_state
    token = _cookie_token()
    if token and token != state.get(keys.DEAD_COOKIE):
        try:
            return sessions.resume(app.engine, app.settings, token=token)
        except SignInError as exc:
            state[keys.DEAD_COOKIE] = token
            if not sessions.ended(exc):
                state.setdefault(keys.SIGN_IN_NOTICE, exc)
    if not app.settings.company_sign_in or state.get(keys.COMPANY_IDENTITY_USED):
        return None
    if not st.user.is_logged_in:
        return None
    state[keys.COMPANY_IDENTITY_USED] = True
    email, subject = st.user.get("email"), st.user.get("sub")
    try:
        operator = auth.sign_in_company(
            app.engine,
            email=str(email) if email else None,
            subject=str(subject) if subject else None,
        )
    except SignInError as exc:
        state[keys.SIGN_IN_REFUSAL] = exc  # its words are made when shown
        _clear_cookie()  # Streamlit's identity cookie goes with it
        return None
    return start_session(app, operator, method="company")


def start_session(app: AppContext, operator: OperatorInfo, *, method: str = "password") -> SignedIn:
    """A new session for ``operator`` in this tab; the browser fetches its cookie next."""
    new = sessions.open_session(
        app.engine, app.settings, operator, method=method,
        user_agent=str(st.context.headers.get("User-Agent") or ""),
    )  # fmt: skip
    st.session_state[keys.SESSION_ID] = new.session_id
    if web.mounted():
        st.session_state[keys.COOKIE_CODE] = web.hand_over(new)
    return SignedIn(new.session_id, operator)


def sign_out(app: AppContext, *, everywhere: bool = False) -> None:
    """End this tab's session (or, ``everywhere``, all of its operator's) and forget it."""
    signed_in = current_operator(app)
    session_id = st.session_state.get(keys.SESSION_ID)
    if everywhere and signed_in is not None:
        sessions.end_sessions(app.engine, signed_in.id)
    elif session_id is not None:
        sessions.end_session(app.engine, session_id)
    _forget(
        notice=Text("You are signed out everywhere.") if everywhere else Text("You are signed out.")
    )


def _forget(*, notice: Words | SignInError) -> None:
    """Forget everything this tab held; the browser is to drop its cookie."""
    token = _cookie_token()
    kept = {key: st.session_state[key] for key in _KEPT_AT_SIGN_OUT if key in st.session_state}
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    st.session_state.update(kept)
    if token:
        st.session_state[keys.DEAD_COOKIE] = token
    st.session_state[keys.SIGN_IN_NOTICE] = notice
    _clear_cookie()


def _clear_cookie() -> None:
    if web.mounted():
        st.session_state[keys.COOKIE_CODE] = web.hand_over(None)


def _cookie_token() -> str | None:
    """The session token the browser sent when this tab connected, if any."""
    token = st.context.cookies.get(web.COOKIE)
    return token if isinstance(token, str) else None  # AppTest has no real connection


def exchange_cookie() -> None:
    """While a sign-in's cookie or a sign-out's clearing is due, the element that has the
    browser fetch it (see ``ui.web``); gone once the browser has."""
    if not web.mounted():
        st.session_state.pop(keys.COOKIE_CODE, None)
        return
    code = st.session_state.get(keys.COOKIE_CODE)
    if code is None:
        return
    if web.fetched(code):
        del st.session_state[keys.COOKIE_CODE]
        return
    web.request_cookie(code, key=f"{keys.COOKIE_REQUEST}_{code}")


def first_run_form(app: AppContext) -> None:
    """The first visit on an empty database: name the organisation, create the first admin."""
    st.title(_("Welcome to userbatch"))
    st.write(
        _("This installation is new. Name your organisation (the root of the group tree) and "
          "create the first administrator.")
    )  # fmt: skip
    with st.form("first_run"):
        organisation = st.text_input(
            _("Organisation name"), max_chars=30, key=keys.SETUP_ORGANISATION
        )
        login = st.text_input(_("Administrator login"), key=keys.SETUP_LOGIN)
        password = new_password(
            _("Password"), key=keys.SETUP_PASSWORD, min_length=app.settings.password_min_length
        )
        submitted = st.form_submit_button(_("Create administrator"), type="primary")
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
    start_session(app, operator)
    st.rerun()


def sign_in_form(app: AppContext) -> None:
    """The sign-in page: company sign-in when it is set up, a password unless it is off."""
    st.title(_("Sign in to userbatch"))
    notice = st.session_state.pop(keys.SIGN_IN_NOTICE, None)
    if notice:
        st.info(str(notice))
    refusal = st.session_state.pop(keys.SIGN_IN_REFUSAL, None)
    if refusal:
        st.error(inert(refusal))
    settings = app.settings
    if settings.company_sign_in and web.mounted():
        label = _("Sign in with {provider}", provider=settings.oidc_provider_name)
        if st.button(label, type="primary", key=keys.SIGN_IN_COMPANY):
            st.login(web.COMPANY_PROVIDER)
    elif settings.company_sign_in and not settings.password_sign_in:
        st.error(_("Company sign-in needs the app served by 'userbatch serve' (server.py)."))
    if not settings.password_sign_in:
        return
    with st.form("sign_in"):
        login = st.text_input(_("Login"), key=keys.SIGN_IN_LOGIN)
        password = st.text_input(_("Password"), type="password", key=keys.SIGN_IN_PASSWORD)
        submitted = st.form_submit_button(_("Sign in"), type="primary")
    if not submitted:
        return
    try:
        operator = auth.sign_in(app.engine, login, password)
    except UserbatchError as exc:
        st.error(inert(str(exc)))
        return
    start_session(app, operator)
    st.rerun()
