"""The batch screen's grid in Chromium: the mark and the message on the bad cell itself,
the keyboard never leaving the grid, fixes the check suggests, many cells at once, undo."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import (
    Served,
    cell,
    idle,
    metric,
    signed_in_with_file,
)
from tests.browser.test_batch_upload import THREE_MISTAKES

pytestmark = pytest.mark.browser

ACTIVE = re.compile(r"\bub-active\b")


def _grid_has_focus(page: Page) -> bool:
    focused: bool = page.locator(".ub-scroll table").evaluate(
        "table => table.getRootNode().activeElement === table"
    )
    return focused


def test_the_mark_and_message_are_on_the_cell(
    served_app: Served, page: Page, tmp_path: Path
) -> None:
    text = THREE_MISTAKES + "kato0003,1.23E+11,kato@example.com,,\r\n"  # a warning: Excel's
    signed_in_with_file(served_app, page, tmp_path / "users.csv", text)
    expect(metric(page, "Error")).to_have_text("3")
    expect(page.locator(".ub-scroll td.ub-error")).to_have_count(4)
    expect(page.locator(".ub-scroll td.ub-warning")).to_have_count(1)
    assert cell(page, 5, "email").evaluate("td => getComputedStyle(td, '::before').content") != (
        cell(page, 6, "name").evaluate("td => getComputedStyle(td, '::before').content")
    )  # an icon of its own for each level
    cell(page, 5, "email").hover()  # pointed at
    expect(page.locator(".ub-tip")).to_contain_text("is not a valid e-mail address")
    page.mouse.move(0, 0)
    cell(page, 2, "name").click()
    page.mouse.move(0, 0)
    expect(page.locator(".ub-tip")).to_be_hidden()
    page.keyboard.press("ArrowDown")  # moved to: row 3's name has no problem
    page.keyboard.press("ArrowLeft")  # row 3's login ID has
    expect(page.locator(".ub-tip")).to_contain_text("Login ID must be 5–30 characters")
    cell(page, 6, "name").hover()
    expect(page.locator(".ub-tip")).to_contain_text("scientific notation")


def test_the_keyboard_never_leaves_the_grid(served_app: Served, page: Page, tmp_path: Path) -> None:
    signed_in_with_file(served_app, page, tmp_path / "users.csv", THREE_MISTAKES)
    expect(metric(page, "Error")).to_have_text("3")
    idle(page)
    cell(page, 2, "login_id").click()
    page.keyboard.press("F8")  # the next error
    expect(cell(page, 3, "login_id")).to_have_class(ACTIVE)
    page.keyboard.type("sato0002")  # typing replaces the cell's text
    page.keyboard.press("Enter")
    expect(metric(page, "Error")).to_have_text("2")
    expect(cell(page, 3, "login_id")).to_have_text("sato0002")
    idle(page)  # the page's run is over: the focus is where the edit was
    expect(cell(page, 3, "login_id")).to_have_class(ACTIVE)
    assert _grid_has_focus(page)

    page.keyboard.press("F8")  # row 4's name
    expect(cell(page, 4, "name")).to_have_class(ACTIVE)
    page.keyboard.type("Suzuki")
    page.keyboard.press("Tab")  # commits and moves on
    expect(cell(page, 4, "email")).to_have_class(ACTIVE)
    page.keyboard.press("F8")  # row 4's group, which the check knows the fix of
    expect(page.locator(".ub-tip")).to_contain_text("Apply 'Sales>>Tokyo'")
    page.keyboard.press("Alt+a")
    expect(cell(page, 4, "belong_to")).to_have_text("Sales>>Tokyo")
    expect(metric(page, "Error")).to_have_text("1")

    page.keyboard.press("F8")  # row 5's e-mail
    expect(cell(page, 5, "email")).to_have_class(ACTIVE)
    page.keyboard.type("typo")
    page.keyboard.press("Escape")  # cancelled
    expect(cell(page, 5, "email")).to_have_text("yamada@example")
    page.keyboard.press("F2")  # edits the text as it is
    page.keyboard.press("End")
    page.keyboard.type(".com")
    page.keyboard.press("Enter")
    expect(metric(page, "Error")).to_have_text("0")
    expect(cell(page, 5, "email")).to_have_text("yamada@example.com")
    idle(page)
    assert _grid_has_focus(page)


def _paste(page: Page, text: str) -> None:
    """Paste ``text`` into the grid as the browser does after Ctrl+V."""
    page.locator(".ub-scroll table").evaluate(
        """(table, text) => {
            const data = new DataTransfer();
            data.setData("text/plain", text);
            table.dispatchEvent(new ClipboardEvent("paste", {clipboardData: data, bubbles: true}));
        }""",
        text,
    )


def test_a_block_pasted_from_excel_becomes_edits_and_one_undo(
    served_app: Served, page: Page, tmp_path: Path
) -> None:
    signed_in_with_file(served_app, page, tmp_path / "users.csv", THREE_MISTAKES)
    expect(metric(page, "Error")).to_have_text("3")
    idle(page)
    cell(page, 4, "name").click()
    _paste(page, "Suzuki\tsuzuki@example.com\r\nYamada\tyamada@example.com\r\n")  # as Excel copies
    expect(cell(page, 5, "email")).to_have_text("yamada@example.com")
    expect(cell(page, 4, "name")).to_have_text("Suzuki")
    expect(metric(page, "Error")).to_have_text("2")  # row 4's group and row 3 are left
    page.get_by_role("button", name="↶ Undo").click()  # the whole paste at once
    expect(metric(page, "Error")).to_have_text("3")
    expect(cell(page, 5, "email")).to_have_text("yamada@example")
    expect(cell(page, 4, "name")).to_have_text("")
    page.get_by_role("button", name="↷ Redo").click()
    expect(metric(page, "Error")).to_have_text("2")


def test_apply_to_all_and_its_undo(served_app: Served, page: Page, tmp_path: Path) -> None:
    text = "Login ID,Name,Belong to\r\n" + "".join(
        f"user{n:04},U,Sales>>Tokio\r\n" for n in range(3)
    )
    signed_in_with_file(served_app, page, tmp_path / "users.csv", text)
    expect(metric(page, "Error")).to_have_text("3")
    idle(page)
    cell(page, 3, "belong_to").click()
    page.locator(".ub-tip").get_by_role("button", name=re.compile("Apply to all 3 like it")).click()
    expect(metric(page, "Error")).to_have_text("0")
    expect(cell(page, 2, "belong_to")).to_have_text("Sales>>Tokyo")
    page.keyboard.press("Control+z")
    expect(metric(page, "Error")).to_have_text("3")
    page.keyboard.press("Control+Shift+z")
    expect(metric(page, "Error")).to_have_text("0")


def test_find_and_replace_with_a_preview_and_undo(
    served_app: Served, page: Page, tmp_path: Path
) -> None:
    text = "Login ID,Name,Email\r\n" + "".join(
        f"user{n:04},U,user{n}@exampel.com\r\n" for n in range(3)
    ) + "user0009,U,nine@example.com\r\n"  # fmt: skip
    signed_in_with_file(served_app, page, tmp_path / "users.csv", text)
    idle(page)
    page.get_by_role("button", name="Find and replace").click()
    popover = page.get_by_test_id("stPopoverBody")
    popover.get_by_label("Column").click()  # the selectbox's list
    page.get_by_role("option", name="Email").click()
    popover.get_by_label("Find").fill("@exampel.com")
    popover.get_by_label("Find").press("Enter")
    popover.get_by_label("Replace with").fill("@example.com")
    popover.get_by_label("Replace with").press("Enter")
    expect(popover.get_by_text("3 cell(s) will change")).to_be_visible()
    popover.get_by_role("button", name="Replace 3 cell(s)").click()
    expect(cell(page, 2, "email")).to_have_text("user0@example.com")
    expect(cell(page, 5, "email")).to_have_text("nine@example.com")
    idle(page)
    page.keyboard.press("Escape")  # the popover closes
    page.get_by_role("button", name="↶ Undo").click()
    expect(cell(page, 2, "email")).to_have_text("user0@exampel.com")
    expect(cell(page, 4, "email")).to_have_text("user2@exampel.com")


def test_next_error_goes_across_pages(served_app: Served, page: Page, tmp_path: Path) -> None:
    lines = [f"user{n:04},User" if n not in (7, 80) else f"ab{n},User" for n in range(120)]
    signed_in_with_file(
        served_app, page, tmp_path / "users.csv", "Login ID,Name\r\n" + "\r\n".join(lines) + "\r\n"
    )
    expect(metric(page, "Error")).to_have_text("2")
    idle(page)
    cell(page, 9, "login_id").click()  # the first error, on page 1
    page.keyboard.press("F8")  # the next is on page 2
    expect(cell(page, 82, "login_id")).to_have_class(ACTIVE)
    expect(page.locator(".ub-tip")).to_contain_text("'ab80' has 4")
    idle(page)
    assert _grid_has_focus(page)
    page.keyboard.press("Shift+F8")  # and back
    expect(cell(page, 9, "login_id")).to_have_class(ACTIVE)


def test_passwords_are_masked_and_shown_one_cell_at_a_time(
    served_app: Served, page: Page, tmp_path: Path
) -> None:
    text = "Login ID,Name,Password\r\ntanaka01,Tanaka,Secret-pass-1\r\nsuzuki01,Suzuki,abc\r\n"
    signed_in_with_file(served_app, page, tmp_path / "users.csv", text)
    expect(metric(page, "Error")).to_have_text("1")
    idle(page)
    expect(cell(page, 2, "password")).to_have_text("••••••••")
    grid = page.locator(".ub-grid")
    assert "Secret-pass-1" not in grid.inner_text() and "abc" not in grid.inner_text()
    cell(page, 3, "password").click()
    expect(page.locator(".ub-tip")).to_contain_text("Password")  # the policy, not the password
    assert "abc" not in page.locator(".ub-tip").inner_text()
    page.keyboard.press("Alt+s")
    expect(cell(page, 3, "password")).to_have_text("abc")
    expect(cell(page, 2, "password")).to_have_text("••••••••")
    page.keyboard.press("ArrowUp")  # another cell: hidden again
    expect(cell(page, 3, "password")).to_have_text("••••••••")
    page.keyboard.press("Enter")
    expect(page.locator(".ub-editor")).to_have_attribute("type", "password")
