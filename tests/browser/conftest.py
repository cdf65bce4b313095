"""Browser tests: the served app in the Debian Chromium, driven by Playwright.

A failing test leaves a screenshot in ``test-artifacts/``.
"""

from __future__ import annotations

import itertools
import os
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from tests.conftest import ROOT
from tests.helpers import free_port, serve_until_healthy
from userbatch.admin.operators import add_operator
from userbatch.db import open_database
from userbatch.directory import auth, groups
from userbatch.settings import Settings
from userbatch.worker.runtime import stop_process

# A fresh server's first page can take a while (imports, migrations); be patient with it.
expect.set_options(timeout=20_000)
CHROMIUM = os.environ.get("USERBATCH_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
# Without these, Chromium keeps calling home, which a closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        message = f"no Chromium at {CHROMIUM} (Debian package 'chromium')"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class Served:
    url: str
    settings: Settings
    port: int
    process: subprocess.Popen[bytes]

    def restart(self) -> None:
        """Stop ``userbatch serve`` and start it again on the same port and data folder (an
        update, a crash): every browser session of the app server ends."""
        stop_process(self.process, timeout=60)
        self.process, _ = serve_until_healthy(self.settings, self.port)


@contextmanager
def serving(settings: Settings) -> Iterator[Served]:
    """``userbatch serve`` with ``settings`` (its data folder new) while the block runs."""
    settings.data_dir.mkdir(parents=True)
    port = free_port()
    serve, _ = serve_until_healthy(settings, port)
    served = Served(f"http://localhost:{port}", settings, port, serve)
    try:
        yield served
    finally:
        stop_process(served.process, timeout=60)


@pytest.fixture
def served_app(make_settings: Callable[..., Settings]) -> Iterator[Served]:
    """The app as ``userbatch serve`` runs it with the zero-set-up default."""
    with serving(make_settings(redis_url=None)) as served:
        yield served


@pytest.fixture(scope="session")
def shared_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One ``userbatch serve`` (the zero-set-up default, Acme set up as ``set_up_acme`` does)
    for the tests that need no installation of their own (one a test process): each signs in as an
    operator of its own (``fresh_operator``), so that no session, draft or batch of one test
    is another's. A test that changes what the others see (executes a batch, restarts the
    server, changes a setting) keeps an app of its own. A server start is the dearest part of
    a browser test."""
    folder = tmp_path_factory.mktemp("shared")
    with serving(Settings(data_dir=folder / "data", redis_url=None)) as served:
        set_up_acme(served)
        yield served


_OPERATORS = itertools.count(1)


def new_operators(served: Served, count: int) -> list[str]:
    """The logins of ``count`` new admins of ``served`` (password ``PASSWORD``)."""
    engine = open_database(served.settings)
    try:
        admin = auth.acting_operator(engine, "admin")
        logins = [f"tester{next(_OPERATORS):03d}" for _ in range(count)]
        for login in logins:
            add_operator(
                engine, admin, login=login, password=PASSWORD, role="admin",
                min_password_length=served.settings.password_min_length,
            )  # fmt: skip
    finally:
        engine.dispose()
    return logins


@pytest.fixture
def fresh_operator(shared_app: Served) -> str:
    """The login of a new admin of ``shared_app`` (password ``PASSWORD``), this test's alone."""
    [login] = new_operators(shared_app, 1)
    return login


@pytest.fixture
def served(served_app: Served) -> str:
    """The served app's URL."""
    return served_app.url


PASSWORD = "correct-horse-7"


def sign_in(page: Page, url: str, login: str = "admin") -> None:
    page.goto(url)
    page.get_by_label("Login").fill(login)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Signed in as").wait_for()


def set_up(page: Page, url: str, password: str = PASSWORD) -> None:
    """Go through the first-run screen as a new user would."""
    page.goto(url)
    page.get_by_label("Organisation name").fill("Acme Learning")
    page.get_by_label("Administrator login").fill("admin")
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Repeat the password").fill(password)
    page.get_by_role("button", name="Create administrator").click()
    page.get_by_text("Signed in as").wait_for()


def set_up_acme(served: Served) -> None:
    """Set up the served app as ``userbatch setup`` and ``userbatch groups add`` would (their
    domain calls, in this process): Acme, its admin, Sales>>Tokyo and Support."""
    engine = open_database(served.settings)
    try:
        auth.initialize(
            engine, organisation="Acme", login="admin", password=PASSWORD,
            min_password_length=served.settings.password_min_length,
        )  # fmt: skip
        for path in ("Sales>>Tokyo", "Support"):
            groups.add_group(engine, path, scope_path="")
    finally:
        engine.dispose()


def idle(page: Page) -> None:
    """Wait until the app has finished its run: the page says its script is not running
    (``data-test-script-state``) and the "Running…" indicator is gone."""
    page.wait_for_timeout(300)
    expect(page.locator("[data-testid=stApp]")).to_have_attribute(
        "data-test-script-state", "notRunning", timeout=20_000
    )
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=20_000)


GRID_CELLS = ".ub-scroll td"  # the batch screen's grid (ui/batch/sheet.js)


def cell(page: Page, row: int, key: str) -> Locator:
    """The grid's cell of spreadsheet row ``row`` and field ``key`` ("#tick", "#row" and
    "#status" for the grid's own columns)."""
    return page.locator(f'.ub-scroll tr[data-row="{row}"] > td[data-col="{key}"]')


def cell_texts(page: Page) -> list[str]:
    """What the grid's cells say."""
    cells = page.locator(GRID_CELLS)
    cells.first.wait_for(state="attached")
    texts: list[str] = cells.evaluate_all("cells => cells.map(cell => cell.textContent)")
    return texts


def table_texts(page: Page) -> list[str]:
    """What the accessible cells of the page's first table (``st.dataframe``) say: the table
    itself is drawn on a canvas."""
    cells = page.get_by_test_id("stDataFrame").first.locator("td[id^=glide-cell-]")
    cells.first.wait_for(state="attached")
    texts: list[str] = cells.evaluate_all("cells => cells.map(cell => cell.textContent)")
    return texts


def signed_in_with_file(
    served: Served, page: Page, path: Path, text: str, *, login: str | None = None
) -> None:
    """A set-up installation, its admin signed in (or the operator ``login`` of one set up
    already), and ``text`` written to ``path``, uploaded and checked."""
    if login is None:
        set_up_acme(served)
    sign_in(page, served.url, login or "admin")
    path.write_text(text)
    upload_and_check(page, path)


def upload_and_check(page: Page, path: Path) -> None:
    """Put ``path`` into the batch screen's uploader and press "Upload and check".

    The page must be idle first: a file put into the uploader while a rerun (after
    "Re-upload", say) redraws it is dropped, and the button stays disabled.
    """
    idle(page)
    page.locator("input[type=file]").set_input_files(path)
    button = page.get_by_role("button", name="Upload and check")
    expect(button).to_be_enabled()
    button.click()


def execute(page: Page, stored: str = "is stored and queued") -> None:
    """Open the Execute dialog, execute with its defaults and wait for ``stored``."""
    dialog = page.get_by_role("dialog")
    for attempt in range(3):
        idle(page)  # a press during a rerun can be dropped
        page.get_by_role("button", name="Execute registration").click()
        try:
            expect(dialog).to_be_visible(timeout=30_000)
            break
        except AssertionError:
            if attempt == 2:
                raise
    dialog.get_by_role("button", name="Execute").click()
    expect(page.get_by_text(stored)).to_be_visible()


def edit_cell(
    page: Page, *, row: int, key: str, text: str, commit: bool = True, settle: bool = True
) -> None:
    """Type ``text`` into the grid's cell (row number, field key) as a person would: click it,
    Enter to edit, type; without ``commit`` the editor stays open for the caller's Enter;
    without ``settle`` it does not wait for the page to finish a run first."""
    if settle:
        idle(page)
    cell(page, row, key).click()
    page.keyboard.press("Enter")
    editor = page.locator(".ub-editor")
    expect(editor).to_be_visible()
    page.keyboard.press("Control+a")
    page.keyboard.type(text)
    expect(editor).to_have_value(text)  # the editor has the keys before Enter commits
    if commit:
        page.keyboard.press("Enter")


def tick_and_delete(page: Page, *, row: int) -> None:
    """Tick the row's Delete cell, press "Delete ticked rows" and confirm."""
    idle(page)
    cell(page, row, "#tick").click()
    button = page.get_by_role("button", name="Delete ticked rows (1)")
    expect(button).to_be_enabled()
    button.click()
    page.get_by_role("button", name="Delete 1 row(s)").click()


def drawn(page: Page) -> Locator:
    """What this run of the page drew: an element of the run before, which the page keeps
    (stale) until this run has drawn its own, is passed over."""
    return page.locator('[data-testid=stElementContainer]:not([data-stale="true"])')


def metric(page: Page, label: str) -> Locator:
    """The value of the metric labelled ``label`` this run drew."""
    return (
        drawn(page).get_by_test_id("stMetric").filter(has_text=label)
        .get_by_test_id("stMetricValue")
    )  # fmt: skip


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    # Every browser test is also a test of the Content-Security-Policy: the page must work
    # under it without one refusal.
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / f"{request.node.name}.png", full_page=True)
    context.close()
    assert not refused, f"the Content-Security-Policy refused: {refused}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    report = yield
    if report.when == "call":
        item.report_call = report  # type: ignore[attr-defined]
    return report
