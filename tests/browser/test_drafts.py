"""Drafts in Chromium: a reload, a second tab and a restart of ``userbatch serve`` bring the
batch screen back as it was left; edits committed in quick succession are all kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import (
    Served,
    cell_texts,
    edit_cell,
    idle,
    metric,
    signed_in_with_file,
)
from tests.browser.test_batch_upload import THREE_MISTAKES
from tests.helpers import wait_until
from userbatch.batches.drafts import restore_draft
from userbatch.db import open_database
from userbatch.directory.auth import acting_operator

pytestmark = pytest.mark.browser


def _as_left(page: Page) -> None:
    """The draft with its two edits: two errors fixed, the grid showing both fixes."""
    expect(page.get_by_text("Signed in as")).to_be_visible()
    expect(metric(page, "Error")).to_have_text("1")
    expect(metric(page, "New")).to_have_text("3")
    wait_until(
        lambda: {"sato0002", "yamada@example.com"} <= set(cell_texts(page)),
        timeout=20, what="both edited cells in the grid",
    )  # fmt: skip


def test_a_draft_survives_a_reload_another_tab_and_a_restart(
    served_app: Served, page: Page, tmp_path: Path
) -> None:
    upload = tmp_path / "users.csv"
    signed_in_with_file(served_app, page, upload, THREE_MISTAKES)
    expect(metric(page, "Error")).to_have_text("3")
    edit_cell(page, row=3, key="login_id", text="sato0002")
    expect(metric(page, "Error")).to_have_text("2")
    edit_cell(page, row=5, key="email", text="yamada@example.com")
    expect(metric(page, "Error")).to_have_text("1")

    page.reload()
    _as_left(page)
    second = page.context.new_page()
    second.goto(served_app.url)
    _as_left(second)
    second.close()

    served_app.restart()
    page.reload()
    _as_left(page)


def test_three_edits_in_quick_succession_are_all_kept(
    shared_app: Served, fresh_operator: str, page: Page, tmp_path: Path
) -> None:
    upload = tmp_path / "users.csv"
    three = "Login ID,Name\r\ntanaka01,Tanaka\r\nsuzuki01,Suzuki\r\nyamada01,Yamada\r\n"
    signed_in_with_file(shared_app, page, upload, three, login=fresh_operator)
    expect(metric(page, "New")).to_have_text("3")
    idle(page)
    for row, name in zip((2, 3, 4), ("Ann", "Ben", "Cy"), strict=True):
        edit_cell(page, row=row, key="name", text=name, settle=False)  # each typed once
        page.wait_for_timeout(200)  # the operator's pace: the page is still rerunning
    engine = open_database(shared_app.settings)
    operator = acting_operator(engine, fresh_operator)

    def names() -> list[str]:
        draft = restore_draft(engine, shared_app.settings, operator)
        return [] if draft is None else draft.result.table.cells["name"].tolist()

    wait_until(lambda: names() == ["Ann", "Ben", "Cy"], timeout=30, what="all three edits saved")
    idle(page)
    page.reload()
    page.locator(".ub-scroll td").first.wait_for()
    wait_until(lambda: {"Ann", "Ben", "Cy"} <= set(cell_texts(page)), timeout=20, what="the grid")
