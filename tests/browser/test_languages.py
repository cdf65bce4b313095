"""Japanese and English in Chromium: a browser that asks for Japanese sees the sign-in, the
batch screen, the grid's messages and the Execute dialog in Japanese; the sidebar's switch
turns the screens to English, and the choice stays with the operator."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import PASSWORD, Served, idle, metric
from userbatch.admin.operators import own_language
from userbatch.db import open_database
from userbatch.directory.auth import acting_operator

pytestmark = pytest.mark.browser

FILE = (
    "ログインID,氏名,メールアドレス\r\n"
    "tanaka01,田中,tanaka@example.com\r\n"
    "ab1,佐藤,sato@example.com\r\n"
)


def _upload(page: Page, path: Path) -> None:
    """``upload_and_check`` in Japanese."""
    idle(page)
    page.locator("input[type=file]").set_input_files(path)
    button = page.get_by_role("button", name="アップロードしてチェック")
    expect(button).to_be_enabled()
    button.click()


def test_a_japanese_browser_sees_japanese_and_can_switch_to_english(
    shared_app: Served, fresh_operator: str, browser: Browser, tmp_path: Path
) -> None:
    context = browser.new_context(locale="ja-JP", viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        page.goto(shared_app.url)
        expect(page.get_by_role("heading", name="userbatch にサインイン")).to_be_visible()
        page.get_by_label("ログインID").fill(fresh_operator)
        page.get_by_label("パスワード", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="サインイン").click()
        expect(page.get_by_role("heading", name="ユーザー一括登録・更新")).to_be_visible()
        expect(page.get_by_test_id("stSidebar").get_by_text("一括操作（CSV）")).to_be_visible()
        upload = tmp_path / "users.csv"
        upload.write_text(FILE, encoding="utf-8")
        _upload(page, upload)
        expect(metric(page, "エラー")).to_have_text("1")
        expect(metric(page, "新規")).to_have_text("1")
        problems = page.get_by_test_id("stExpander")
        expect(
            problems.get_by_text("ログインIDは 5～30 文字です。'ab1' は 3 文字です。")
        ).to_be_visible()

        idle(page)
        page.get_by_role("button", name="エラーのある行をダウンロード").wait_for()
        page.get_by_role("button", name="アップロードし直す").click()
        upload.write_text(FILE.replace("ab1,", "sato0002,"), encoding="utf-8")
        _upload(page, upload)
        expect(metric(page, "新規")).to_have_text("2")
        idle(page)
        page.get_by_role("button", name="登録を実行").click()
        dialog = page.get_by_role("dialog")
        expect(dialog.get_by_text("登録を実行")).to_be_visible()
        expect(dialog.get_by_text("新規登録したユーザーに招待メールを送る")).to_be_visible()
        page.keyboard.press("Escape")
        expect(dialog).to_have_count(0)

        idle(page)
        switch = page.get_by_test_id("stSidebar").get_by_role("combobox", name="Language / 言語")
        expect(switch).to_have_value("日本語")
        # Scrolled to first: the sidebar reaches below the window now, and a click that
        # had to scroll the switch into view focused it without opening its list.
        switch.scroll_into_view_if_needed()
        switch.click()
        page.get_by_role("option", name="English").click()
        expect(page.get_by_role("heading", name="Batch user registration/update")).to_be_visible()
        expect(metric(page, "New")).to_have_text("2")
        engine = open_database(shared_app.settings)
        assert own_language(engine, acting_operator(engine, fresh_operator)) == "en"
    finally:
        context.close()
