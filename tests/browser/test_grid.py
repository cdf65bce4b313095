"""The batch screen's grid in Chromium: the mark and the message on the bad cell itself,
the keyboard never leaving the grid, fixes the check suggests, many cells at once, undo."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import (
    Served,
    cell,
    metric,
    signed_in_with_file,
)
from tests.browser.test_batch_upload import THREE_MISTAKES

pytestmark = pytest.mark.browser


def test_a_bad_cell_is_marked_and_says_why(served_app: Served, page: Page, tmp_path: Path) -> None:
    signed_in_with_file(served_app, page, tmp_path / "users.csv", THREE_MISTAKES)
    expect(metric(page, "Error")).to_have_text("3")
    expect(page.locator(".ub-scroll td.ub-error")).to_have_count(4)
    page.screenshot(path="/tmp/grid1.png", full_page=True)
    cell(page, 5, "email").hover()
    expect(page.locator(".ub-tip")).to_contain_text("not a valid e-mail address")
    page.screenshot(path="/tmp/grid2.png", full_page=True)
