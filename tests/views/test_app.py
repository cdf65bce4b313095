"""The app shell through AppTest: first run, sign-in, session expiry, the sidebar."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT
from tests.helpers import age_sessions, literal
from userbatch.admin.operators import own_notices
from userbatch.db import open_database
from userbatch.directory import auth
from userbatch.directory.tokens import authenticate, list_tokens
from userbatch.errors import SignInError
from userbatch.settings import Settings
from userbatch.ui import keys

PASSWORD = "correct-horse-7"


def _app() -> AppTest:
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)


@pytest.fixture
def app(settings: Settings, use_env: Callable[[Settings], None]) -> AppTest:
    use_env(settings)
    return _app()


def _set_up(app: AppTest) -> AppTest:
    app.run()
    app.text_input(key="setup_organisation").input("Acme Learning")
    app.text_input(key="setup_login").input("admin")
    app.text_input(key="setup_password").input(PASSWORD)
    app.text_input(key="setup_confirm").input(PASSWORD)
    return app.button[0].click().run()


def _sidebar_text(app: AppTest) -> str:
    return " ".join(str(element.value) for element in app.sidebar.markdown)


def test_first_run_creates_the_admin_and_signs_in(app: AppTest, settings: Settings) -> None:
    app.run()
    assert app.title[0].value == "Welcome to userbatch"
    _set_up(app)
    assert not app.exception
    assert "Signed in as **admin** (admin)" in _sidebar_text(app)
    assert app.sidebar.selectbox(key=keys.WORKING_GROUP).value is not None
    assert app.title[0].value == "Batch user registration/update"
    assert not auth.needs_setup(open_database(settings))


def test_first_run_refuses_differing_passwords(app: AppTest) -> None:
    app.run()
    app.text_input(key="setup_organisation").input("Acme")
    app.text_input(key="setup_login").input("admin")
    app.text_input(key="setup_password").input(PASSWORD)
    app.text_input(key="setup_confirm").input(PASSWORD + "x")
    app.button[0].click().run()
    assert [literal(error.value) for error in app.error] == ["The two passwords differ."]
    assert app.title[0].value == "Welcome to userbatch"


def test_first_run_shows_the_rule_a_password_breaks(app: AppTest) -> None:
    app.run()
    app.text_input(key="setup_organisation").input("Acme")
    app.text_input(key="setup_login").input("admin")
    app.text_input(key="setup_password").input("abc")
    app.text_input(key="setup_confirm").input("abc")
    app.button[0].click().run()
    assert "at least 8 characters; it has 3" in literal(app.error[0].value)


def _sign_in(app: AppTest, password: str) -> AppTest:
    app.run()
    app.text_input(key="sign_in_login").input("admin")
    app.text_input(key="sign_in_password").input(password)
    return app.button[0].click().run()


def test_sign_in_and_sign_out(app: AppTest) -> None:
    _set_up(app)
    fresh = _app()
    fresh.run()
    assert fresh.title[0].value == "Sign in to userbatch"
    _sign_in(fresh, "wrong-pass-1")
    assert [literal(error.value) for error in fresh.error] == ["Wrong login or password."]
    _sign_in(fresh, PASSWORD)
    assert "Signed in as **admin**" in _sidebar_text(fresh)
    fresh.sidebar.button(key="sign_out").click().run()
    assert fresh.title[0].value == "Sign in to userbatch"
    assert [info.value for info in fresh.info] == ["You are signed out."]


def test_an_idle_session_expires(app: AppTest, settings: Settings) -> None:
    _set_up(app)
    idle = dt.timedelta(minutes=settings.session_minutes, seconds=1)
    age_sessions(open_database(settings), idle)
    app.run()
    assert app.title[0].value == "Sign in to userbatch"
    assert [literal(info.value) for info in app.info] == [
        "Your session expired; please sign in again."
    ]


def test_a_configuration_error_is_shown(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, use_env: Callable[[Settings], None]
) -> None:
    use_env(settings)
    monkeypatch.setenv("DATABASE_URL", "nonsense")
    app = _app()
    app.run()
    assert literal(app.error[0].value).startswith(
        "userbatch cannot start: configuration error: DATABASE_URL"
    )


def test_an_operator_sets_where_notices_of_their_batches_go(
    app: AppTest, settings: Settings
) -> None:
    _set_up(app)
    app.text_input(key=keys.NOTICE_EMAIL).input("Admin@Example.com")
    app.button(key=keys.NOTICE_SAVE).click().run()
    assert not app.exception and app.success[-1].value == "Saved."
    engine = open_database(settings)
    notices = own_notices(engine, auth.acting_operator(engine, None))
    assert (notices.email, notices.notify) == ("Admin@example.com", True)
    app.text_input(key=keys.NOTICE_EMAIL).input("admin@")
    app.button(key=keys.NOTICE_SAVE).click().run()
    assert "is not an e-mail address" in literal(app.error[-1].value)


def test_an_operator_makes_and_revokes_an_api_token(app: AppTest, settings: Settings) -> None:
    _set_up(app)
    app.text_input(key=keys.TOKEN_NAME).input("HR nightly")
    app.number_input(key=keys.TOKEN_DAYS).set_value(30)
    app.button(key=keys.TOKEN_CREATE).click().run()
    assert not app.exception
    token = app.code[-1].value
    assert token.startswith("ubt_")
    engine = open_database(settings)
    admin = auth.acting_operator(engine, None)
    assert authenticate(engine, token)[0] == admin
    (made,) = list_tokens(engine, admin)
    assert made.name == "HR nightly" and made.expires_at is not None
    app.run()  # the next run shows the token no more, only its first characters
    assert all(code.value != token for code in app.code)
    assert any(made.prefix in markdown.value for markdown in app.markdown)
    app.button(key=keys.revoke_token(made.id)).click().run()
    assert list_tokens(engine, admin)[0].state() == "revoked"
    with pytest.raises(SignInError):
        authenticate(engine, token)
    app.text_input(key=keys.TOKEN_NAME).input("")
    app.button(key=keys.TOKEN_CREATE).click().run()
    assert "name" in literal(app.error[-1].value)
