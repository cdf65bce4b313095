"""A check in the background, in Chromium: the page shows how far the check has got, and a
reload during the check shows the same check (none is started again) and then its grid."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import text

from tests.browser.conftest import Served, idle, metric, serving, set_up_acme, sign_in
from userbatch.db import open_database
from userbatch.settings import Settings

pytestmark = pytest.mark.browser

CLEAN = (
    "Login ID,Name,Email,Belong to\r\n"
    "tanaka01,Tanaka,tanaka@example.com,Sales>>Tokyo\r\n"
    "yamada01,Yamada,,Support\r\n"
)
FINDING = "Finding the file's users among the existing ones"


@pytest.fixture
def served_on_postgres(make_settings: Callable[..., Settings]) -> Iterator[Served]:
    """``userbatch serve`` on PostgreSQL, where a test can hold the check back with a lock."""
    with serving(make_settings("postgresql", redis_url=None)) as served:
        yield served


def test_a_check_shows_its_progress_and_a_reload_follows_it(
    served_on_postgres: Served, page: Page, tmp_path: Path
) -> None:
    served = served_on_postgres
    set_up_acme(served)
    sign_in(page, served.url)
    path = tmp_path / "users.csv"
    path.write_text(CLEAN)
    idle(page)
    page.locator("input[type=file]").set_input_files(path)
    button = page.get_by_role("button", name="Upload and check")
    expect(button).to_be_enabled()
    engine = open_database(served.settings)
    # The check waits where it looks for the file's users (with their groups) while the
    # table of memberships is locked; the screen itself reads none of it.
    with engine.connect() as connection, connection.begin():
        connection.execute(text("LOCK TABLE memberships IN ACCESS EXCLUSIVE MODE"))
        button.click()
        bar = page.get_by_test_id("stProgress")
        expect(bar.get_by_text(FINDING)).to_be_visible()
        page.reload()
        expect(bar.get_by_text(FINDING)).to_be_visible()  # the same check, still waiting
        expect(page.get_by_text("Drag and drop the edited file here")).to_have_count(0)
    expect(metric(page, "New")).to_have_text("2")
    expect(bar).to_have_count(0)
    expect(page.get_by_text("users.csv").first).to_be_visible()
    engine.dispose()
