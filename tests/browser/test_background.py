"""Watching a batch in Chromium: the sidebar panel goes from running to finished, and the
job history's detail downloads the results."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
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
    set_up_acme,
    sign_in,
    upload_and_check,
)
from tests.helpers import settings_env, wait_until
from userbatch.db import open_database, session
from userbatch.models import Batch, User

pytestmark = pytest.mark.browser

ROWS = 250  # with passwords (~20 ms each to hash), so the job runs for a few seconds


def open_newest_batch(page: Page, file_name: str) -> None:
    """Go to Background processing and open the newest batch's detail (the history's first
    row), which is ``file_name``'s."""
    page.get_by_role("link", name="Background processing").first.click()
    expect(page.get_by_role("heading", name="Background processing")).to_be_visible()
    canvas = page.get_by_test_id("stDataFrame").first.get_by_test_id("data-grid-canvas")
    box = canvas.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 14, box["y"] + 35 + 17)  # the first row's selection box
    expect(page.get_by_role("heading", name=file_name)).to_be_visible()


def test_the_panel_follows_the_job_and_the_history_has_the_results(
    served_app: Served, page: Page, tmp_path: Path
) -> None:
    env = settings_env(served_app.settings) | {"USERBATCH_ADMIN_PASSWORD": PASSWORD}
    subprocess.run(
        [sys.executable, "-m", "userbatch", "setup", "--organisation", "Acme", "--admin", "admin"],
        env=env, check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    sign_in(page, served_app.url)
    path = tmp_path / "many.csv"
    path.write_text(
        "Login ID,Name,Password\r\n"
        + "".join(f"user{n:05d},User {n},pass-word-{n}\r\n" for n in range(ROWS))
    )
    upload_and_check(page, path)
    execute(page)

    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_text("many.csv:")).to_be_visible(timeout=20_000)  # queued or started
    expect(sidebar.get_by_text("No running or queued jobs.")).to_be_visible(timeout=120_000)
    expect(page.get_by_text("many.csv: finished")).to_be_visible(timeout=10_000)  # the toast

    open_newest_batch(page, "many.csv")
    # A click on a deferred download during a rerun holds the button's previous file id,
    # which the rerun revokes; the browser then waits for a file that never comes.
    idle(page)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download results").click()
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text("utf-8-sig"))))
    assert rows[0] == ["Login ID", "Name", "Password", "Result", "Message"]
    assert len(rows) == ROWS + 1
    assert {row[3] for row in rows[1:]} == {"created"}
    assert all(row[2] == "" for row in rows[1:])  # passwords never come back


def test_an_executed_batch_is_undone_from_the_history(
    served_app: Served, page: Page, tmp_path: Path
) -> None:
    set_up_acme(served_app)
    sign_in(page, served_app.url)
    path = tmp_path / "wrong.csv"
    path.write_text("Login ID,Name\r\ntanaka01,Tanaka\r\nsuzuki01,Suzuki\r\n")
    upload_and_check(page, path)
    execute(page)
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_text("No running or queued jobs.")).to_be_visible(timeout=120_000)

    open_newest_batch(page, "wrong.csv")
    idle(page)
    page.get_by_role("button", name="Undo…").click()
    expect(metric(page, "Delete")).to_have_text("2")
    page.get_by_role("button", name="Undo: change 2 user(s)").click()
    expect(page.get_by_text("This batch is the undo of 'wrong.csv'.")).to_be_visible()
    expect(page.get_by_role("heading", name="Undo of wrong.csv")).to_be_visible()
    engine = open_database(served_app.settings)

    def undone() -> bool:
        # The sidebar's toast is no sure sign: an undo of two rows may end before the panel
        # has seen it running.
        with session(engine) as db:
            return db.scalar(select(Batch.state).where(Batch.undo_of.is_not(None))) == "finished"

    wait_until(undone, timeout=120, what="the undo finished")
    with session(engine) as db:
        assert db.scalars(select(User.login_id)).all() == []
