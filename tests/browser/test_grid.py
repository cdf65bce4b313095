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


MARKS_AND_PASSWORDS = (
    "Login ID,Name,Email,Password\r\n"
    "tanaka01,Tanaka,tanaka@example.com,Secret-pass-1\r\n"
    "ab1,Sato,sato@example.com,\r\n"
    "suzuki01,1.23E+11,suzuki@example.com,abc\r\n"  # Excel's damage: a warning
    "yamada01,Yamada,yamada@example,\r\n"
)


def test_marks_and_messages_on_the_cells_and_passwords_masked(
    shared_app: Served, fresh_operator: str, page: Page, tmp_path: Path
) -> None:
    signed_in_with_file(
        shared_app, page, tmp_path / "users.csv", MARKS_AND_PASSWORDS, login=fresh_operator
    )
    expect(metric(page, "Error")).to_have_text("3")
    expect(page.locator(".ub-scroll td.ub-error")).to_have_count(3)
    expect(page.locator(".ub-scroll td.ub-warning")).to_have_count(1)
    assert cell(page, 5, "email").evaluate("td => getComputedStyle(td, '::before').content") != (
        cell(page, 4, "name").evaluate("td => getComputedStyle(td, '::before').content")
    )  # an icon of its own for each level
    idle(page)
    cell(page, 5, "email").hover()  # pointed at
    expect(page.locator(".ub-tip")).to_contain_text("is not a valid e-mail address")
    cell(page, 4, "name").hover()
    expect(page.locator(".ub-tip")).to_contain_text("scientific notation")
    page.mouse.move(0, 0)
    cell(page, 2, "name").click()
    page.mouse.move(0, 0)
    expect(page.locator(".ub-tip")).to_be_hidden()
    page.keyboard.press("ArrowDown")  # moved to: row 3's name has no problem
    page.keyboard.press("ArrowLeft")  # row 3's login ID has
    expect(page.locator(".ub-tip")).to_contain_text("Login ID must be 5–30 characters")

    # Passwords: masked, shown one cell at a time; their messages do not repeat them.
    expect(cell(page, 2, "password")).to_have_text("••••••••")
    grid = page.locator(".ub-grid")
    assert "Secret-pass-1" not in grid.inner_text() and "abc" not in grid.inner_text()
    cell(page, 4, "password").click()
    expect(page.locator(".ub-tip")).to_contain_text("Password")  # the policy, not the password
    assert "abc" not in page.locator(".ub-tip").inner_text()
    page.keyboard.press("Alt+s")
    expect(cell(page, 4, "password")).to_have_text("abc")
    expect(cell(page, 2, "password")).to_have_text("••••••••")
    page.keyboard.press("ArrowUp")  # another cell: hidden again
    expect(cell(page, 4, "password")).to_have_text("••••••••")
    page.keyboard.press("Enter")
    expect(page.locator(".ub-editor")).to_have_attribute("type", "password")


def test_the_keyboard_never_leaves_the_grid(
    shared_app: Served, fresh_operator: str, page: Page, tmp_path: Path
) -> None:
    signed_in_with_file(
        shared_app, page, tmp_path / "users.csv", THREE_MISTAKES, login=fresh_operator
    )
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


MANY_AT_ONCE = "Login ID,Name,Email,Belong to\r\n" + "".join(
    f"user{n:04},U,user{n}@exampel.com,Sales>>Tokio\r\n" for n in range(3)
) + "user0009,,nine@example.com,Support\r\n"  # fmt: skip


def test_many_cells_at_once_paste_apply_to_all_find_and_replace_each_one_undo(
    shared_app: Served, fresh_operator: str, page: Page, tmp_path: Path
) -> None:
    signed_in_with_file(
        shared_app, page, tmp_path / "users.csv", MANY_AT_ONCE, login=fresh_operator
    )
    expect(metric(page, "Error")).to_have_text("4")  # three groups, one name
    idle(page)
    cell(page, 4, "name").click()
    _paste(page, "V\tv@example.com\r\nNine\tnine@example.com\r\n")  # as Excel copies
    expect(cell(page, 5, "name")).to_have_text("Nine")
    expect(cell(page, 4, "email")).to_have_text("v@example.com")
    expect(metric(page, "Error")).to_have_text("3")
    page.get_by_role("button", name="↶ Undo").click()  # the whole paste at once
    expect(metric(page, "Error")).to_have_text("4")
    expect(cell(page, 5, "name")).to_have_text("")
    expect(cell(page, 4, "email")).to_have_text("user2@exampel.com")
    page.get_by_role("button", name="↷ Redo").click()
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

    idle(page)
    page.get_by_role("button", name="Find and replace").click()
    popover = page.get_by_test_id("stPopoverBody")
    popover.get_by_role("combobox", name="Column").click()  # the selectbox's list
    page.get_by_role("option", name="Email").click()
    popover.get_by_label("Find").fill("@exampel.com")
    popover.get_by_label("Find").press("Enter")
    popover.get_by_label("Replace with").fill("@example.com")
    popover.get_by_label("Replace with").press("Enter")
    expect(popover.get_by_text("2 cell(s) will change")).to_be_visible()
    popover.get_by_role("button", name="Replace 2 cell(s)").click()
    expect(cell(page, 2, "email")).to_have_text("user0@example.com")
    expect(cell(page, 4, "email")).to_have_text("v@example.com")
    idle(page)
    page.keyboard.press("Escape")  # the popover closes
    page.get_by_role("button", name="↶ Undo").click()
    expect(cell(page, 2, "email")).to_have_text("user0@exampel.com")
    expect(cell(page, 3, "email")).to_have_text("user1@exampel.com")


def test_next_error_goes_across_pages(
    shared_app: Served, fresh_operator: str, page: Page, tmp_path: Path
) -> None:
    lines = [f"user{n:04},User" if n not in (7, 80) else f"ab{n},User" for n in range(120)]
    signed_in_with_file(
        shared_app,
        page,
        tmp_path / "users.csv",
        "Login ID,Name\r\n" + "\r\n".join(lines) + "\r\n",
        login=fresh_operator,
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
