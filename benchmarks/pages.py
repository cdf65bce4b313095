"""The upload page in Chromium with a 100k-row file, against 1M users, as ``userbatch serve``
runs it: how long from clicking "Upload and check" until the grid's first cells are there,
and from pressing Enter on an edited cell until the Error count shows the change.

The browser helpers are the browser tests' own (tests/browser); the moments are caught in
the page itself, on every animation frame, so Playwright's polling adds no delay.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from tests.browser.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PASSWORD,
    edit_cell,
    idle,
    metric,
    sign_in,
)
from tests.helpers import free_port, serve_until_healthy

from benchmarks import data
from benchmarks.figures import Figure, Sizes, no_chromium
from benchmarks.measure import LOGS, median, run_step
from userbatch.settings import Settings
from userbatch.worker.runtime import stop_process

assert PASSWORD == data.ADMIN_PASSWORD, "the seeded admin signs in as the browser tests do"
# The spreadsheet row with a bad login ID ("ab1", see data.BAD_KINDS): the grid's second
# (row 1 is the header), in view without scrolling, so each edit can wait for the grid to show it.
BAD_ROW = data.BAD_SLOT + 2
# The grid is drawn in a shadow root of the page (ui/batch/sheet.js).
CELL_SHOWN = """login => [...document.querySelectorAll('*')].some(host => host.shadowRoot
    && [...host.shadowRoot.querySelectorAll('.ub-scroll td')]
        .some(td => td.textContent === login))"""
# An edit whose Error count has not changed after this long was lost by the page.
LOST_S = 10
# Edits the page lost (typed again), tabs that lost them until reloaded.
RETRIED = {"edit": 0, "reload": 0}
METRIC_SHOWS = """([label, value]) => [...document.querySelectorAll('[data-testid=stMetric]')]
    .some(metric => metric.innerText.includes(label)
        && metric.querySelector('[data-testid=stMetricValue]')?.innerText.trim() === value)"""


def page_step(settings: dict[str, Any], file: str, uploads: int, edits: int) -> dict[str, Any]:
    """Step: serve the app, sign in, upload ``file`` ``uploads`` times; after each upload edit
    the bad login ID ``edits`` times: a good one typed in (one error less), the bad one
    again (one more), and so on."""
    chosen = Settings(**settings)
    lines = Path(file).read_bytes().split(b"\r\n", BAD_ROW + 1)
    first_login, bad_login = (lines[n + 1].split(b",")[0].decode() for n in (0, BAD_ROW - 2))
    port = free_port()
    serve, _ = serve_until_healthy(chosen, port)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(180_000)
            sign_in(page, f"http://localhost:{port}")
            shown, edited, kept = [], [], []
            for upload in range(uploads):
                if upload:
                    idle(page)
                    page.get_by_role("button", name="Re-upload").click()
                    if edits:  # after edits, "Re-upload" asks first whether to discard them
                        page.get_by_role("button", name="Discard draft").click()
                shown.append(_upload(page, Path(file), first_login))
                for edit in range(edits):
                    good = f"fixed{upload:02d}{edit:03d}"
                    edited.append(_retype(page, bad_login if edit % 2 else good, first_login))
                kept.append(_three_quick_edits(page, upload))
            browser.close()
    finally:
        stop_process(serve, timeout=60)
    return {"grid_visible_s": shown, "edit_s": edited, "kept": kept, "retried": RETRIED}


# The texts shown in the grid's cells that the server has taken (not still being sent).
TAKEN_TEXTS = """texts => [...document.querySelectorAll('*')].filter(host => host.shadowRoot)
    .flatMap(host => [...host.shadowRoot.querySelectorAll('.ub-scroll td:not(.ub-sending)')])
    .map(td => td.textContent).filter(text => texts.includes(text))"""
QUICK_ROWS = (2, BAD_ROW + 1, BAD_ROW + 2)  # three Name cells in view, not the bad row's


def _three_quick_edits(page: Page, upload: int) -> float:
    """Three Name cells typed 0.2 s apart without waiting for the page, as an operator
    would; the fraction of them the server took (shown as taken in the grid)."""
    idle(page)
    texts = [f"Quick{upload}x{n}" for n in range(len(QUICK_ROWS))]
    for row, text in zip(QUICK_ROWS, texts, strict=True):
        edit_cell(page, row=row, key="name", text=text, settle=False)
        page.wait_for_timeout(200)
    with contextlib.suppress(PlaywrightTimeout):  # what was not taken is counted below
        page.wait_for_function(
            f"texts => ({TAKEN_TEXTS})(texts).length === texts.length", arg=texts,
            polling=200, timeout=LOST_S * 3000,
        )  # fmt: skip
    taken: list[str] = page.evaluate(TAKEN_TEXTS, texts)
    return len(set(taken)) / len(texts)


def _upload(page: Page, file: Path, first_login: str) -> float:
    page.locator("input[type=file]").set_input_files(file)
    button = page.get_by_role("button", name="Upload and check")
    expect(button).to_be_enabled(timeout=120_000)
    started = time.perf_counter()
    button.click()
    page.wait_for_function(CELL_SHOWN, arg=first_login, polling="raf", timeout=300_000)
    return time.perf_counter() - started


def _retype(page: Page, login: str, first_login: str, *, tries: int = 4) -> float:
    """Type ``login`` into the bad row's Login ID; seconds from Enter until the Error count
    has changed by one (down for a "fixed…" login ID, up for a bad one).

    An edit the page loses (the count stays; the cell shows its old text again) is typed
    again, as a person would, a little differently: the same text again may never reach the
    check. A tab that had lost two was seen to lose a third, so the third try reloads the
    page first (until ``first_login`` is shown). The seconds are those of the try that was
    taken; ``RETRIED`` counts the others. A last failure leaves a screenshot in ``measure.LOGS``."""
    idle(page)
    errors = int(metric(page, "Error").inner_text().replace(",", ""))
    good = login.startswith("fixed")
    expected = errors - 1 if good else errors + 1
    for attempt in range(tries):
        if attempt == 2:
            RETRIED["reload"] += 1
            page.reload()
            page.wait_for_function(CELL_SHOWN, arg=first_login, polling="raf", timeout=300_000)
        text = login if not attempt else f"{login}{attempt}" if good else f"ab{attempt + 1}"
        edit_cell(page, row=BAD_ROW, key="login_id", text=text, commit=False)
        started = time.perf_counter()
        page.keyboard.press("Enter")
        try:
            page.wait_for_function(
                METRIC_SHOWS, arg=["Error", f"{expected:,}"], polling="raf", timeout=LOST_S * 1000
            )
        except PlaywrightTimeout:
            if attempt == tries - 1:
                LOGS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=LOGS / f"lost-edit-{int(time.time())}.png", full_page=True)
                raise
            RETRIED["edit"] += 1
            page.keyboard.press("Escape")
            continue
        elapsed = time.perf_counter() - started
        # The run is over once the new grid shows the cell: the next edit must not reach the old.
        page.wait_for_function(CELL_SHOWN, arg=text, polling="raf", timeout=120_000)
        return elapsed
    raise AssertionError("unreachable")


RETRIED_WORDS = {
    "edit": "edit(s) lost and typed again", "reload": "tab(s) reloaded to take an edit",
    "sign_in": "sign-in(s) tried again", "edit_never_taken": "edit(s) never taken, left out",
}  # fmt: skip


def retried_note(retried: dict[str, int]) -> str:
    """What a note says of ``retried``: '; 2 edit(s) lost and typed again', or nothing."""
    return "".join(f"; {count} {RETRIED_WORDS[what]}" for what, count in retried.items() if count)


def figures(sizes: Sizes, workdir: Path) -> list[Figure]:
    """page_grid_visible_s, page_edit_s, page_quick_edits_kept (None, with a note, where
    there is no Chromium)."""
    if not Path(CHROMIUM).exists():
        keys = ["page_grid_visible_s", "page_edit_s", "page_quick_edits_kept"]
        return no_chromium(CHROMIUM, keys)
    file = data.cached_file(data.FileMix(sizes.rows, sizes.users))
    settings = {"data_dir": str(data.sqlite_copy(sizes.users, workdir / "page").data_dir)}
    found = run_step(
        "page", settings=settings, file=str(file), uploads=sizes.page_uploads,
        edits=sizes.page_edits,
    )  # fmt: skip
    return [
        Figure(
            "page_grid_visible_s", median(found["grid_visible_s"]), found["grid_visible_s"],
            rows_per_s=sizes.rows / median(found["grid_visible_s"]),
            note=f"{sizes.rows:,}-row file ({file.stat().st_size / 1e6:.0f} MB) against "
            f"{sizes.users:,} users, in {os.path.basename(CHROMIUM)}; no naive baseline",
        ),
        Figure(
            "page_edit_s", median(found["edit_s"]), found["edit_s"],
            note="a login ID typed anew in the grid, good then bad in turn; from Enter to the "
            f"Error count{retried_note(found['retried'])}",
        ),
        Figure(
            "page_quick_edits_kept", min(found["kept"]), found["kept"],
            note="three Name cells typed 0.2 s apart without waiting for the page, after each "
            "upload: the least share of them the server took",
        ),
    ]  # fmt: skip
