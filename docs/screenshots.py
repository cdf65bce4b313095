"""The README's screenshots of the batch screen, in English and in Japanese.

``uv run python docs/screenshots.py`` serves a new installation (a data folder of its own,
deleted after), signs in with a browser of each language, checks a file with a few bad cells
and writes ``docs/batch-screen.png`` and ``docs/batch-screen-ja.png``. It needs Chromium
(``/usr/bin/chromium``) and, for the Japanese one, a Japanese font (Debian's
``fonts-noto-cjk``).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser.conftest import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    PASSWORD,
    idle,
    metric,
    serving,
    set_up_acme,
)

from userbatch.settings import Settings  # noqa: E402

ROWS = [
    "sato0001,佐藤 花子,sato@example.com,Sales>>Tokyo,,",
    "ab1,鈴木 一郎,suzuki@example,Sales,,",
    "tanaka02,田中 次郎,tanaka@example.com,Support,Vaild,",
    "kato0003,加藤 由美,kato@example.com,Nowhere,,2027.02.30",
    "ito00004,伊藤 健,ito@example.com,,,",
]
HEADER = {
    "en": "Login ID,Name,Email,Belong to,Status,Expiration date",
    "ja": "ログインID,氏名,メールアドレス,所属グループ,ステータス,有効期限",
}
# (browser locale, the words of the screen it sees, the file written)
SHOTS = [
    ("en-GB", "en", "Sign in", "Re-upload", "Upload and check", "Error", "batch-screen.png"),
    ("ja-JP", "ja", "サインイン", "アップロードし直す", "アップロードしてチェック", "エラー",
     "batch-screen-ja.png"),
]  # fmt: skip


def shoot(page: Page, url: str, folder: Path, shot: tuple[str, ...]) -> None:
    _locale, code, sign_in, reupload, upload, errors, name = shot
    page.goto(url)
    page.locator("input[type=text]").first.fill("admin")
    page.locator("input[type=password]").fill(PASSWORD)
    page.get_by_role("button", name=sign_in, exact=True).click()
    idle(page)
    uploader, again = page.locator("input[type=file]"), page.get_by_role("button", name=reupload)
    uploader.or_(again).first.wait_for(state="attached")
    if again.count():  # the file the other language's shot checked, kept as a draft
        again.click()
        idle(page)
    path = folder / f"users-{code}.csv"
    path.write_text("\r\n".join([HEADER[code], *ROWS]) + "\r\n", encoding="utf-8")
    uploader.set_input_files(path)
    button = page.get_by_role("button", name=upload)
    expect(button).to_be_enabled()
    button.click()
    expect(metric(page, errors)).not_to_have_text("0")
    idle(page)
    page.screenshot(path=ROOT / "docs" / name, full_page=False)
    print(f"wrote docs/{name}")


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder) / "data", redis_url=None)
        with serving(settings) as served, sync_playwright() as playwright:
            set_up_acme(served)
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for shot in SHOTS:
                context = browser.new_context(
                    locale=shot[0], viewport={"width": 1400, "height": 900}
                )
                page = context.new_page()
                page.set_default_timeout(60_000)
                shoot(page, served.url, Path(folder), shot)
                context.close()
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
