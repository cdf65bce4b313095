"""Markdown, links and images in cells and names, in Chromium: the batch grid, its message
list and Manage users show them as text and create no image or script link from them."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.browser.conftest import (
    Served,
    cell,
    cell_texts,
    execute,
    idle,
    metric,
    set_up,
    table_texts,
    upload_and_check,
)
from tests.helpers import GENEROUS, wait_until
from userbatch.batches.history import get_batch
from userbatch.db import open_database, session
from userbatch.models import Batch

pytestmark = pytest.mark.browser

NAMES = ["**bold**", "[link](javascript:alert(1))", "![img](http://127.0.0.1:1/track.png)"]


def _no_live_markup(page: Page) -> None:
    assert page.locator("img[src*='127.0.0.1:1']").count() == 0
    assert page.locator("a[href^='javascript:']").count() == 0
    assert page.locator("strong", has_text="bold").count() == 0


def test_cells_and_messages_stay_text(served_app: Served, page: Page, tmp_path: Path) -> None:
    set_up(page, served_app.url)
    upload = tmp_path / "users.csv"
    rows = "".join(f"user{n:04},{name},\r\n" for n, name in enumerate(NAMES, start=1))
    upload.write_text("Login ID,Name,Email\r\n" + rows + "bad00001,B,**bold**@x\r\n")
    upload_and_check(page, upload)
    expect(metric(page, "Error")).to_have_text("1")
    idle(page)
    message = page.locator("li").filter(has_text="Row 5, Email: Email '**bold**@x' is not a valid")
    expect(message).to_be_visible()
    wait_until(lambda: NAMES[2] in cell_texts(page), timeout=30, what="the grid's cells")
    cell(page, 5, "email").hover()  # the message on the cell
    expect(page.locator(".ub-tip")).to_contain_text("Email '**bold**@x' is not a valid")
    _no_live_markup(page)
    page.get_by_role("button", name="Re-upload").click()
    upload.write_text("Login ID,Name,Email\r\n" + rows)
    upload_and_check(page, upload)
    expect(metric(page, "New")).to_have_text("3")
    execute(page, "is stored and queued: 3 rows")
    engine = open_database(served_app.settings)  # Manage users shows the users of its run
    with session(engine) as db:
        batch_id = db.scalars(select(Batch.id)).one()
    wait_until(
        lambda: get_batch(engine, batch_id).state == "finished", timeout=GENEROUS, what="the job"
    )
    engine.dispose()
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Manage users").click()
    wait_until(lambda: NAMES[1] in table_texts(page), timeout=60, what="the new users")
    _no_live_markup(page)
