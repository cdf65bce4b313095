"""A new user's batch, in Chromium: template, a file with mistakes, fixes in the grid,
a corrected file, the Execute dialog with invitations scheduled for tomorrow."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import select

from tests.browser.conftest import (
    PASSWORD,
    Served,
    cell_texts,
    idle,
    metric,
    sign_in,
    upload_and_check,
)
from tests.helpers import settings_env, wait_until
from userbatch.batches.history import get_batch
from userbatch.db import open_database, session
from userbatch.models import Batch, OutboxMessage

pytestmark = pytest.mark.browser

THREE_MISTAKES = (
    "Login ID,Name,Email,Department,Belong to\r\n"
    "tanaka01,Tanaka,tanaka@example.com,Sales,Sales>>Tokyo\r\n"
    "ab1,Sato,sato@example.com,,\r\n"
    "suzuki01,,suzuki@example.com,,Sales>>Tokio\r\n"
    "yamada01,Yamada,yamada@example,,Support\r\n"
)
CORRECTED = (
    "Login ID,Name,Email,Department,Belong to\r\n"
    "tanaka01,Tanaka,tanaka@example.com,Sales,Sales>>Tokyo\r\n"
    "sato0002,Sato,sato@example.com,,\r\n"
    "yamada01,Yamada,yamada@example.com,,Support\r\n"
)
ROW_HEIGHT = 35


def _canvas(page: Page) -> Locator:
    return page.get_by_test_id("stDataFrame").first.get_by_test_id("data-grid-canvas")


def _edit(page: Page, *, row: int, column: int, text: str, commit: bool = True) -> None:
    """Type into the grid's cell at (row position, column index) as a person would; without
    ``commit`` the editor stays open for the caller's Enter."""
    editor = (
        page.locator("textarea, input")
        .filter(has=page.locator(":focus"))
        .or_(page.locator("textarea:focus, input:focus"))
    )
    for attempt in range(3):  # a grid redrawn under the click loses it: click again
        idle(page)
        _canvas(page).scroll_into_view_if_needed()  # the clicks below go to the viewport
        box = _canvas(page).bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + 90, box["y"] + ROW_HEIGHT + ROW_HEIGHT // 2)  # "Row", row 1
        for _ in range(3):  # a grid scrolled sideways puts another cell there: to "Delete"
            page.keyboard.press("ArrowLeft")
        for _ in range(column):
            page.keyboard.press("ArrowRight")
        for _ in range(row):
            page.keyboard.press("ArrowDown")
        page.keyboard.press("Enter")  # opens the cell's editor
        try:
            expect(editor.first).to_be_visible(timeout=5_000)
            break
        except AssertionError:
            if attempt == 2:
                raise
            page.keyboard.press("Escape")
    page.keyboard.press("Control+a")
    page.keyboard.type(text)
    page.wait_for_timeout(300)  # the editor takes the keys in before Enter commits them
    if commit:
        page.keyboard.press("Enter")


def _delete_row(page: Page, *, row: int) -> None:
    """Tick the row's Delete cell and press "Delete ticked rows"."""
    idle(page)
    box = _canvas(page).bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 30, box["y"] + ROW_HEIGHT * (row + 1) + ROW_HEIGHT // 2)
    button = page.get_by_role("button", name="Delete ticked rows (1)")
    expect(button).to_be_enabled()
    button.click()


def test_from_template_to_a_stored_batch(served_app: Served, page: Page, tmp_path: Path) -> None:
    env = settings_env(served_app.settings) | {"USERBATCH_ADMIN_PASSWORD": PASSWORD}
    for command in (["setup", "--organisation", "Acme", "--admin", "admin"],
                    ["groups", "add", "Sales>>Tokyo", "Support"]):  # fmt: skip
        subprocess.run(
            [sys.executable, "-m", "userbatch", *command], env=env, check=True, timeout=60,
            capture_output=True,
        )  # fmt: skip
    sign_in(page, served_app.url)
    expect(page.get_by_role("heading", name="Batch user registration/update")).to_be_visible()
    idle(page)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV", exact=True).click()
    template = Path(download.value.path()).read_bytes()
    assert template.startswith(b"\xef\xbb\xbfLogin ID,Name,Display name,Email,Password")

    mistakes = tmp_path / "users.csv"
    mistakes.write_text(THREE_MISTAKES)
    upload_and_check(page, mistakes)
    expect(metric(page, "Error")).to_have_text("3")
    expect(metric(page, "New")).to_have_text("1")
    expect(page.get_by_test_id("stExpander").get_by_text("'ab1' has 3")).to_be_visible()
    wait_until(lambda: cell_texts(page).count("✖") == 4, timeout=10, what="a mark per bad cell")
    expect(page.get_by_role("button", name="Execute registration")).to_be_disabled()

    page.get_by_text("Show only errors").click()
    wait_until(lambda: "tanaka01" not in cell_texts(page), timeout=10, what="errors only")
    page.get_by_text("Show only errors").click()
    wait_until(lambda: "tanaka01" in cell_texts(page), timeout=10, what="all rows again")

    _edit(page, row=1, column=3, text="sato0002")  # Login ID of row 3
    expect(metric(page, "Error")).to_have_text("2")
    wait_until(lambda: "sato0002" in cell_texts(page), timeout=10, what="the edited cell")
    _delete_row(page, row=2)  # row 4, the one without a name
    expect(metric(page, "Error")).to_have_text("1")

    page.get_by_role("button", name="Re-upload").click()  # asks first: the grid has changes
    expect(page.get_by_text("Your 2 change(s) in the grid will be lost")).to_be_visible()
    page.get_by_role("button", name="Discard draft").click()
    corrected = tmp_path / "users-corrected.csv"
    corrected.write_text(CORRECTED)
    upload_and_check(page, corrected)
    expect(metric(page, "New")).to_have_text("3")
    expect(metric(page, "Error")).to_have_text("0")

    page.get_by_role("button", name="Execute registration").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Send invitation e-mail to new registered users").click()
    expect(dialog.get_by_text("Preview for the first invited row")).to_be_visible()
    expect(dialog.get_by_text("Dear Tanaka,")).to_be_visible()
    dialog.get_by_text("Later").click()
    expect(dialog.get_by_text("(your browser's)")).to_be_visible()  # tomorrow 09:00 by default
    dialog.get_by_role("button", name="Execute").click()
    expect(page.get_by_text("is stored and queued: 3 rows")).to_be_visible()

    engine = open_database(served_app.settings)
    with session(engine) as db:
        batch_id = db.scalars(select(Batch.id)).one()
    wait_until(lambda: get_batch(engine, batch_id).state == "finished", timeout=60, what="the job")
    assert get_batch(engine, batch_id).created == 3
    with session(engine) as db:
        sends = db.scalars(select(OutboxMessage.send_at)).all()
    assert len(sends) == 3 and all(
        send > get_batch(engine, batch_id).submitted_at for send in sends
    )
