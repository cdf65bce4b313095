"""Ten operators at once: each signed in in a browser context of their own presses "Upload and
check" at the same moment; every grid appears with that operator's file and nobody else's,
while the server keeps answering its health check (how fast is a benchmark's figure,
``page_10_operators_s``, not a test's)."""

from __future__ import annotations

import threading
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import (
    GRID_CELLS,
    Served,
    idle,
    new_operators,
    sign_in,
)

pytestmark = pytest.mark.browser

OPERATORS = 10
ROWS = 300


def _file(folder: Path, index: int) -> Path:
    """Operator ``index``'s file: ROWS new users whose login IDs are theirs alone."""
    path = folder / f"operator{index:02d}.csv"
    rows = "".join(f"op{index:02d}u{n:04d},User {index} {n}\r\n" for n in range(ROWS))
    path.write_text("Login ID,Name\r\n" + rows)
    return path


def _grid_logins(page: Page) -> set[str]:
    texts: list[str] = page.locator(GRID_CELLS).evaluate_all(
        "cells => cells.map(cell => cell.textContent)"
    )
    return {text for text in texts if text.startswith("op")}


@pytest.mark.timeout(1200)  # ten browsers on a machine that runs other tests too
def test_ten_operators_upload_at_once_and_each_sees_only_their_own(
    shared_app: Served, browser: Browser, tmp_path: Path
) -> None:
    logins = new_operators(shared_app, OPERATORS)
    contexts = [browser.new_context(viewport={"width": 1400, "height": 900}) for _ in logins]
    pages = [context.new_page() for context in contexts]
    health: list[int] = []
    stop = threading.Event()

    def ask_health() -> None:
        while not stop.wait(0.2):  # the rhythm of asking, not a wait for anything
            with urllib.request.urlopen(f"{shared_app.url}/_stcore/health", timeout=120) as r:
                health.append(r.status)

    try:
        buttons = []
        for index, (page, login) in enumerate(zip(pages, logins, strict=True)):
            page.set_default_timeout(180_000)
            sign_in(page, shared_app.url, login)
            idle(page)
            page.locator("input[type=file]").set_input_files(_file(tmp_path, index))
            button = page.get_by_role("button", name="Upload and check")
            expect(button).to_be_enabled()
            buttons.append(button)
        asking = threading.Thread(target=ask_health)
        asking.start()
        for button in buttons:  # within the same second
            button.click()
        for index, (page, button) in enumerate(zip(pages, buttons, strict=True)):
            first = page.locator(GRID_CELLS).filter(has_text=f"op{index:02d}u0000")
            for _ in range(10):
                try:
                    expect(first).to_have_count(1, timeout=60_000)
                    break
                except AssertionError:
                    # A press the page dropped while it was busy (the button is still
                    # there, the file in the uploader): pressed again, as a person would.
                    if button.is_visible() and button.is_enabled():
                        button.click()
            expect(first).to_have_count(1, timeout=60_000)
        stop.set()
        asking.join(timeout=180)
        for index, page in enumerate(pages):
            idle(page)
            shown = _grid_logins(page)
            assert shown and all(login.startswith(f"op{index:02d}u") for login in shown), shown
            expect(page.get_by_test_id("stMetric").filter(has_text="New")).to_contain_text(
                f"{ROWS}"
            )
        assert health and set(health) == {200}
    finally:
        stop.set()
        for context in contexts:
            context.close()
