"""An organisation set up in Chromium alone: first run, groups, a custom field that the
template download and the check follow, a batch that fills it, and a manager who then sees
only their own group."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.browser.conftest import (
    PASSWORD,
    Served,
    execute,
    idle,
    metric,
    set_up,
    table_texts,
    upload_and_check,
)
from tests.helpers import wait_until
from userbatch.batches.history import get_batch
from userbatch.db import open_database, session
from userbatch.models import Batch, User

pytestmark = pytest.mark.browser


def _open(page: Page, screen: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=screen).click()
    expect(page.get_by_role("heading", name=screen)).to_be_visible()
    idle(page)


def test_a_custom_field_from_settings_to_stored_users(
    served_app: Served, page: Page, tmp_path: Path
) -> None:
    set_up(page, served_app.url)
    expect(page.get_by_text("There are no users yet.")).to_be_visible()

    _open(page, "Groups")
    for group in ("Sales", "Support"):
        page.get_by_label("Group name", exact=True).fill(group)
        page.get_by_role("button", name="Create group").click()
        expect(page.get_by_text(f"Created {group}.")).to_be_visible()
        idle(page)

    _open(page, "Input field settings")
    page.get_by_role("textbox", name="Key").fill("course")
    page.get_by_label("Label (the column header)").fill("Course")
    kind = page.get_by_test_id("stSelectbox").filter(has_text="Type")
    # A select box opens its list on typing, and filters it.
    kind.get_by_role("combobox").click()
    kind.get_by_role("combobox").press_sequentially("Pull")
    page.get_by_role("option", name="Pull-down").click()
    expect(kind.get_by_role("combobox")).to_have_value("Pull-down")
    page.get_by_label("Options, one per line").fill("Math\nArt")
    page.get_by_role("button", name="Add field").click()
    expect(page.get_by_text("Added Course.")).to_be_visible()

    _open(page, "Batch user registration/update")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV", exact=True).click()
    header = Path(download.value.path()).read_text(encoding="utf-8-sig").splitlines()[0]
    assert header.split(",")[-1] == "Course"

    upload = tmp_path / "users.csv"
    upload.write_text(
        "Login ID,Name,Email,Belong to,Course\r\n"
        "tanaka01,Tanaka,tanaka@example.com,Sales,Math\r\n"
        "sato0002,Sato,sato@example.com,Sales,Music\r\n"
        "kato0003,Kato,kato@example.com,Support,Art\r\n",
        encoding="utf-8-sig",
    )
    upload_and_check(page, upload)
    expect(metric(page, "New")).to_have_text("2")
    expect(metric(page, "Error")).to_have_text("1")
    expect(
        page.get_by_text("Row 3, Course: Course must be one of: Math, Art; 'Music' is not.")
    ).to_be_visible()

    idle(page)  # a click on a button that a rerun redraws is lost
    page.get_by_role("button", name="Re-upload").click()
    expect(page.get_by_role("button", name="Upload and check")).to_be_visible()
    upload.write_text(upload.read_text(encoding="utf-8-sig").replace("Music", "Art"))
    upload_and_check(page, upload)
    expect(metric(page, "New")).to_have_text("3")
    execute(page, "is stored and queued: 3 rows")

    engine = open_database(served_app.settings)
    with session(engine) as db:
        batch_id = db.scalars(select(Batch.id)).one()
    wait_until(lambda: get_batch(engine, batch_id).state == "finished", timeout=120, what="the job")
    with session(engine) as db:
        courses = {
            login: custom for login, custom in db.execute(select(User.login_id, User.custom))
        }
    assert courses == {
        "tanaka01": {"course": "Math"}, "sato0002": {"course": "Art"}, "kato0003": {"course": "Art"},
    }  # fmt: skip

    _open(page, "Operators")  # a manager of Sales (the first group, picked by default)
    add = page.get_by_test_id("stForm").filter(has_text="Add operator")
    add.get_by_label("Login", exact=True).fill("mgr")
    add.get_by_label("Password", exact=True).fill(PASSWORD)
    add.get_by_label("Repeat the password").fill(PASSWORD)
    add.get_by_role("button", name="Add operator").click()
    expect(page.get_by_text("Added manager 'mgr'.")).to_be_visible()
    idle(page)
    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page.get_by_role("heading", name="Sign in to userbatch")).to_be_visible()
    idle(page)  # a run after the sign-out (a job's toast) would clear what was typed
    page.get_by_role("textbox", name="Login").fill("mgr")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Signed in as")).to_be_visible()
    navigation = page.get_by_test_id("stSidebarNav")
    expect(navigation.get_by_role("link", name="Operators")).to_have_count(0)
    _open(page, "Manage users")
    wait_until(lambda: "tanaka01" in table_texts(page), timeout=30, what="the manager's users")
    assert "sato0002" in table_texts(page) and "kato0003" not in table_texts(page)
    _open(page, "Groups")
    wait_until(lambda: "Sales" in table_texts(page), timeout=30, what="the manager's groups")
    assert "Support" not in table_texts(page)
