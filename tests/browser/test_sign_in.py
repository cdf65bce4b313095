"""Lasting sign-ins in Chromium against ``userbatch serve``: the cookie, its limits, sign-out
here and everywhere, a restarted server, and company sign-in through a real OpenID provider."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Cookie, Page, expect
from sqlalchemy import Engine, delete, select

from tests.browser.conftest import PASSWORD, Served, idle, set_up, sign_in
from tests.helpers import age_sessions, free_port, serve_until_healthy, wait_until
from tests.oidc_provider import OidcProvider
from userbatch.admin.operators import OperatorRow, add_operator, set_disabled
from userbatch.db import open_database, session
from userbatch.directory import auth
from userbatch.directory.groups import add_group, groups_in_scope
from userbatch.models import Operator, OperatorSession
from userbatch.settings import Settings
from userbatch.ui.web import COOKIE, SESSION_ROUTE
from userbatch.worker.runtime import stop_process

SIGN_IN_HEADING = "Sign in to userbatch"
CLIENT_ID = "userbatch-test"
CLIENT_SECRET = "not-a-real-secret"
ALICE = "alice@example.com"


# --- Helpers ---------------------------------------------------------------------------------


def _session_cookie(context: BrowserContext) -> Cookie | None:
    return next((c for c in context.cookies() if c["name"] == COOKIE), None)


def _wait_for_cookie(context: BrowserContext) -> Cookie:
    """The session cookie, once the page has fetched it from the route."""
    wait_until(lambda: _session_cookie(context) is not None, timeout=30, what="the cookie")
    cookie = _session_cookie(context)
    assert cookie is not None
    return cookie


def _signed_in(page: Page, login: str = "admin") -> None:
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_text("Signed in as")).to_be_visible()
    expect(sidebar.get_by_text(login, exact=True)).to_be_visible()


def _sign_in_form(page: Page) -> None:
    expect(page.get_by_role("heading", name=SIGN_IN_HEADING)).to_be_visible()
    expect(page.get_by_text("Signed in as")).to_have_count(0)


def _rerun(page: Page) -> None:
    """Make the tab run the app again, as an operator's next click would."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Manage users").click()


def _sign_in_as(page: Page, url: str, login: str, password: str = PASSWORD) -> None:
    page.goto(url)
    page.get_by_label("Login").fill(login)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    _signed_in(page, login)


def _engine(served: Served | CompanyApp) -> Engine:
    engine: Engine = open_database(served.settings)
    return engine


def _admin(engine: Engine) -> auth.OperatorInfo:
    return auth.acting_operator(engine, "admin")


def _add_manager(engine: Engine, login: str) -> OperatorRow:
    if "Sales" not in {group.path for group in groups_in_scope(engine, "")}:
        add_group(engine, "Sales")
    return add_operator(
        engine, _admin(engine), login=login, password=PASSWORD, role="manager",
        scope_path="Sales", min_password_length=8,
    )  # fmt: skip


def _post(url: str, body: dict[str, Any], headers: dict[str, str]) -> int:
    """POST ``body`` as JSON with a real HTTP client; the answer's status."""
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", **headers},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return int(refused.code)


# --- The cookie ------------------------------------------------------------------------------


def test_a_reload_and_a_second_tab_keep_the_sign_in(
    shared_app: Served, fresh_operator: str, page: Page
) -> None:
    sign_in(page, shared_app.url, fresh_operator)
    _wait_for_cookie(page.context)
    page.reload()
    _signed_in(page, fresh_operator)
    second = page.context.new_page()
    second.goto(f"{shared_app.url}/users")
    _signed_in(second, fresh_operator)
    expect(second.get_by_role("heading", name="Manage users")).to_be_visible()
    second.close()


def test_the_cookies_flags(shared_app: Served, fresh_operator: str, page: Page) -> None:
    sign_in(page, shared_app.url, fresh_operator)
    page.get_by_test_id("stSidebar").get_by_role("button", name="Sign out", exact=True).click()
    _sign_in_form(page)
    wait_until(lambda: _session_cookie(page.context) is None, timeout=30, what="no cookie")
    before = time.time()
    sign_in(page, shared_app.url, fresh_operator)
    cookie = _wait_for_cookie(page.context)
    after = time.time()
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/"
    assert cookie["secure"] is False  # plain http on loopback
    lasting = dt.timedelta(days=shared_app.settings.session_days).total_seconds()
    assert before + lasting - 5 <= cookie["expires"] <= after + lasting + 5
    # The page's own script cannot read it.
    assert COOKIE not in page.evaluate("document.cookie")


def test_the_route_refuses_a_cross_site_request(shared_app: Served) -> None:
    served = shared_app.url
    route = f"{served}{SESSION_ROUTE}"
    host = served.removeprefix("http://")
    assert _post(route, {"code": "x"}, {"Origin": "http://evil.example"}) == 403
    assert _post(route, {"code": "x"}, {"Origin": served, "Sec-Fetch-Site": "cross-site"}) == 403
    assert _post(route, {"code": "x"}, {}) == 403  # no Origin at all
    # The same request from the app's own origin gets past the check (to an unknown code).
    assert _post(route, {"code": "x"}, {"Origin": f"http://{host}"}) == 404


def test_a_restarted_server_keeps_the_sign_in(served_app: Served, page: Page) -> None:
    set_up(page, served_app.url)
    _wait_for_cookie(page.context)
    served_app.restart()  # the same data folder and port
    page.reload()
    _signed_in(page)


# --- Sign-out and the limits -----------------------------------------------------------------


def test_sign_out_in_one_tab_signs_the_other_out_at_its_next_rerun(
    shared_app: Served, fresh_operator: str, page: Page
) -> None:
    sign_in(page, shared_app.url, fresh_operator)
    _wait_for_cookie(page.context)
    other = page.context.new_page()
    other.goto(shared_app.url)
    _signed_in(other, fresh_operator)

    page.get_by_test_id("stSidebar").get_by_role("button", name="Sign out", exact=True).click()
    _sign_in_form(page)
    _signed_in(other, fresh_operator)  # nothing happens there until it runs again

    _rerun(other)
    _sign_in_form(other)
    expect(other.get_by_text("You were signed out (in another tab or window")).to_be_visible()
    other.reload()
    _sign_in_form(other)
    other.close()


def test_sign_out_everywhere_ends_another_browsers_sign_in(
    shared_app: Served, fresh_operator: str, page: Page, browser: Browser
) -> None:
    sign_in(page, shared_app.url, fresh_operator)
    elsewhere = browser.new_context()
    try:
        other = elsewhere.new_page()
        sign_in(other, shared_app.url, fresh_operator)
        _wait_for_cookie(elsewhere)

        page.get_by_test_id("stSidebar").get_by_role("button", name="Sign out everywhere").click()
        _sign_in_form(page)
        expect(page.get_by_text("You are signed out everywhere.")).to_be_visible()

        _rerun(other)
        _sign_in_form(other)
        expect(other.get_by_text("You were signed out (in another tab or window")).to_be_visible()
        other.reload()
        _sign_in_form(other)
    finally:
        elsewhere.close()


def test_an_idle_session_shows_the_sign_in_form_after_a_reload(
    shared_app: Served, fresh_operator: str, page: Page
) -> None:
    sign_in(page, shared_app.url, fresh_operator)
    _wait_for_cookie(page.context)
    minutes = shared_app.settings.session_minutes
    age_sessions(_engine(shared_app), dt.timedelta(minutes=minutes + 1))
    page.reload()
    _sign_in_form(page)
    expect(page.get_by_text("Your session expired")).to_be_visible()


def test_a_disabled_operators_open_tab_is_signed_out_at_its_next_rerun(
    shared_app: Served, page: Page
) -> None:
    engine = _engine(shared_app)
    lead = _add_manager(engine, "lead")
    _sign_in_as(page, shared_app.url, "lead")
    _wait_for_cookie(page.context)

    set_disabled(engine, _admin(engine), operator_id=lead.id, disabled=True)

    _rerun(page)
    _sign_in_form(page)
    page.reload()
    _sign_in_form(page)


# --- Company sign-in -------------------------------------------------------------------------


@dataclass(frozen=True)
class CompanyApp:
    """The app served for company sign-in, and its OpenID provider."""

    url: str
    settings: Settings
    provider: OidcProvider


@dataclass
class Company:
    """Company sign-in as a test sets it up: a real OpenID provider and ``userbatch serve``
    signing in with it ("Acme SSO"), on an installation set up already (admin). The app is
    at ``localhost``, as the registered redirect address says.

    The module's tests share one such app (``start()``): each test finds it as a new one
    would be — no operator but the admin, no session, a provider that has seen nothing
    (``forget``). ``start(**overrides)`` serves an app of the test's own."""

    folder: Path
    shared: CompanyApp | None = None
    provider: OidcProvider | None = None
    running: list[tuple[subprocess.Popen[bytes], OidcProvider]] = field(default_factory=list)

    def start(self, **overrides: Any) -> CompanyApp:
        if not overrides and self.shared is not None:
            self.provider = self.shared.provider
            return self.shared
        port = free_port()
        url = f"http://localhost:{port}"
        provider = OidcProvider(CLIENT_ID, CLIENT_SECRET, [f"{url}/oauth2callback"])
        provider.__enter__()
        settings = Settings(
            data_dir=self.folder / f"data{len(self.running)}", redis_url=None,
            oidc_metadata_url=provider.metadata_url, oidc_client_id=CLIENT_ID,
            oidc_client_secret=CLIENT_SECRET, oidc_provider_name="Acme SSO", base_url=url,
            **overrides,
        )  # fmt: skip
        settings.data_dir.mkdir(parents=True)
        auth.initialize(
            open_database(settings), organisation="Acme", login="admin", password=PASSWORD,
            min_password_length=8,
        )  # fmt: skip
        serve, _ = serve_until_healthy(settings, port)
        self.running.append((serve, provider))
        self.provider = provider
        app = CompanyApp(url, settings, provider)
        if not overrides:
            self.shared = app
        return app

    def signs_in(self, claims: dict[str, Any]) -> None:
        """The identity the provider signs in next."""
        assert self.provider is not None
        self.provider.identity = claims

    def forget(self) -> None:
        """The shared app as new: its sessions and every operator but the admin gone, its
        provider without an identity or a request seen."""
        self.provider = None
        if self.shared is None:
            return
        with session(_engine(self.shared)) as db, db.begin():
            db.execute(delete(OperatorSession))
            db.execute(delete(Operator).where(Operator.login != "admin"))
        self.shared.provider.identity = None
        self.shared.provider.requests.clear()

    def stop(self) -> None:
        for serve, provider in self.running:
            stop_process(serve, timeout=60)
            provider.__exit__(None, None, None)


@pytest.fixture(scope="module")
def _companies(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Company]:
    served = Company(tmp_path_factory.mktemp("company"))
    yield served
    served.stop()


@pytest.fixture
def company(_companies: Company) -> Company:
    _companies.forget()
    return _companies


def _operator_logins(served: CompanyApp) -> list[str]:
    with session(_engine(served)) as db:
        return list(db.scalars(select(Operator.login).order_by(Operator.login)))


def _click_company_sign_in(page: Page, url: str) -> None:
    page.goto(url)
    page.get_by_role("button", name="Sign in with Acme SSO").click()


def _alice_signs_in(company: Company, page: Page) -> CompanyApp:
    """Alice, an operator whose login is her company e-mail, signs in with Acme SSO."""
    served = company.start()
    engine = _engine(served)
    add_operator(
        engine, _admin(engine), login=ALICE, password=PASSWORD, role="admin",
        min_password_length=8,
    )  # fmt: skip
    company.signs_in({"sub": "u-1", "email": ALICE, "email_verified": True})
    _click_company_sign_in(page, served.url)
    _signed_in(page, ALICE)
    return served


def _streamlit_cookies(context: BrowserContext) -> list[str]:
    return [c["name"] for c in context.cookies() if c["name"].startswith("_streamlit_user")]


def _session_methods(served: CompanyApp) -> list[str]:
    with session(_engine(served)) as db:
        return list(db.scalars(select(OperatorSession.method)))


def _lasts_by_our_cookie(served: CompanyApp, page: Page) -> None:
    """Our cookie has taken over from Streamlit's identity cookie: a reload resumes the one
    session there is, and signs in with the company account no second time."""
    _wait_for_cookie(page.context)
    wait_until(
        lambda: not _streamlit_cookies(page.context),
        timeout=30,
        what="Streamlit's identity cookie to be cleared",
    )
    page.reload()
    _signed_in(page, ALICE)
    assert _session_methods(served) == ["company"]


def test_company_sign_in_signs_the_matching_operator_in(company: Company, page: Page) -> None:
    served = _alice_signs_in(company, page)
    assert company.provider is not None and "/token" in company.provider.requests
    assert _session_methods(served) == ["company"]


def test_company_sign_in_lasts_by_our_cookie_at_once(company: Company, page: Page) -> None:
    served = _alice_signs_in(company, page)
    _lasts_by_our_cookie(served, page)


def test_company_sign_in_lasts_by_our_cookie_after_a_rerun(company: Company, page: Page) -> None:
    served = _alice_signs_in(company, page)
    _rerun(page)
    expect(page.get_by_role("heading", name="Manage users")).to_be_visible()
    _lasts_by_our_cookie(served, page)


def test_company_sign_in_refuses_an_unknown_identity_and_creates_nothing(
    company: Company, page: Page
) -> None:
    served = company.start()
    before = _operator_logins(served)
    company.signs_in({"sub": "u-666", "email": "mallory@example.com"})

    _click_company_sign_in(page, served.url)
    expect(
        page.get_by_text("No operator matches the company account mallory@example.com")
    ).to_be_visible(timeout=30_000)
    _sign_in_form(page)
    assert _operator_logins(served) == before
    assert _session_methods(served) == []


def test_company_sign_in_refuses_a_disabled_operator(company: Company, page: Page) -> None:
    served = company.start()
    engine = _engine(served)
    alice = _add_manager(engine, ALICE)
    set_disabled(engine, _admin(engine), operator_id=alice.id, disabled=True)
    company.signs_in({"sub": "u-1", "email": ALICE})

    _click_company_sign_in(page, served.url)
    expect(page.get_by_text("This operator is disabled")).to_be_visible(timeout=30_000)
    _sign_in_form(page)
    assert _session_methods(served) == []


def test_company_only_sign_in_has_no_password_form(company: Company, page: Page) -> None:
    served = company.start(password_sign_in=False)
    page.goto(served.url)
    expect(page.get_by_role("heading", name=SIGN_IN_HEADING)).to_be_visible()
    expect(page.get_by_role("button", name="Sign in with Acme SSO")).to_be_visible()
    idle(page)  # the whole page is drawn: what is missing is not merely late
    expect(page.get_by_label("Password", exact=True)).to_have_count(0)
    expect(page.get_by_label("Login")).to_have_count(0)
