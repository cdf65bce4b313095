"""A new user's batch, in Chromium: template, a file with mistakes, fixes in the grid,
a corrected file, the Execute dialog with invitations scheduled for tomorrow."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.browser.conftest import (
    Served,
    cell_texts,
    drawn,
    edit_cell,
    idle,
    metric,
    set_up_acme,
    sign_in,
    tick_and_delete,
    upload_and_check,
)
from tests.helpers import wait_until
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


def test_from_template_to_a_stored_batch(served_app: Served, page: Page, tmp_path: Path) -> None:
    set_up_acme(served_app)
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
    expect(page.locator(".ub-scroll td.ub-error")).to_have_count(4)  # a mark per bad cell
    expect(page.get_by_role("button", name="Execute registration")).to_be_disabled()

    idle(page)
    drawn(page).get_by_text("Show only errors").click()
    wait_until(lambda: "tanaka01" not in cell_texts(page), timeout=30, what="errors only")
    idle(page)
    drawn(page).get_by_text("Show only errors").click()
    wait_until(lambda: "tanaka01" in cell_texts(page), timeout=30, what="all rows again")

    edit_cell(page, row=3, key="login_id", text="sato0002")
    expect(metric(page, "Error")).to_have_text("2")
    wait_until(lambda: "sato0002" in cell_texts(page), timeout=30, what="the edited cell")
    tick_and_delete(page, row=4)  # the one without a name
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
    wait_until(lambda: get_batch(engine, batch_id).state == "finished", timeout=120, what="the job")
    assert get_batch(engine, batch_id).created == 3
    with session(engine) as db:
        sends = db.scalars(select(OutboxMessage.send_at)).all()
    assert len(sends) == 3 and all(
        send > get_batch(engine, batch_id).submitted_at for send in sends
    )
