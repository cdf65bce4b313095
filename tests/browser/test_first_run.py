"""A new user's first minutes, in a real browser against ``userbatch serve``."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PASSWORD, Served

pytestmark = pytest.mark.browser

SECTIONS = ["Batch operation (CSV)", "Users", "Settings", "Background processing"]


def test_first_run_then_sign_in_shows_every_section(served: str, page: Page) -> None:
    # Straight to a deep link on a fresh server: the set-up screen, not the page.
    page.goto(f"{served}/operators")
    expect(page.get_by_role("heading", name="Welcome to userbatch")).to_be_visible()
    page.get_by_label("Organisation name").fill("Acme Learning")
    page.get_by_label("Administrator login").fill("admin")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Create administrator").click()

    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_text("Signed in as")).to_be_visible()
    for section in SECTIONS:
        expect(sidebar.get_by_text(section, exact=True).first).to_be_visible()
    working_group = sidebar.get_by_role("combobox", name="Working group")
    expect(working_group).to_have_value("Acme Learning (whole organisation)")
    expect(page.get_by_role("heading", name="Operators")).to_be_visible()  # /operators, as asked

    sidebar.get_by_role("button", name="Sign out", exact=True).click()
    expect(page.get_by_role("heading", name="Sign in to userbatch")).to_be_visible()


def test_a_deep_link_asks_for_sign_in_first(
    shared_app: Served, fresh_operator: str, page: Page
) -> None:
    page.goto(f"{shared_app.url}/operators")
    expect(page.get_by_role("heading", name="Sign in to userbatch")).to_be_visible()
    expect(page.get_by_role("heading", name="Operators")).to_have_count(0)
    page.get_by_label("Login").fill(fresh_operator)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Signed in as")).to_be_visible()
    expect(page.get_by_role("heading", name="Operators")).to_be_visible()
