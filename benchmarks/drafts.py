"""Drafts in Chromium against ``userbatch serve`` with 1M users: how long a signed-in
operator's 100k-row draft takes to be back in the page after a reload, and how much memory
the app server holds with 10 operators' drafts open.

- ``draft_restore_100k_s``: the draft is not in the app server's memory (``userbatch serve``
  was stopped and started again), so the load restores it: the file read and checked again
  against the database, the draft's two edits replayed, the grid drawn. Each run restarts
  the server first, since once restored the draft is in memory again. The tab leaves for
  ``about:blank`` before the restart and the timed load opens the app's address in it again
  (the signed-in browser and its cookie, a new Streamlit session: what a reload is to the
  server), so that no tab on the app can reconnect to the new server, and restore the draft,
  before the timed load. After each, a plain ``page.reload()`` times the draft from memory
  (in the figure's note). In-process timings of ``restore_draft`` split the restore
  into the check, the replay and the rest.
- ``server_rss_10_drafts_mb``: 10 operators (``add_operator``, role admin) each sign in in a
  browser context of their own, upload and check the 100k-row file and edit one cell, one
  after the other; the contexts stay open (10 tabs at work). The figure is the resident
  memory of the app server process (Streamlit, ``runtime.json``'s "app") then, read from
  ``/proc/<pid>/status``; its peak (``VmHWM``) goes in the peak column.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, idle
from tests.helpers import free_port, serve_until_healthy, wait_until

from benchmarks import data, pages
from benchmarks.figures import Figure, Sizes, no_chromium, number
from benchmarks.measure import StepFailed, median, run_step
from benchmarks.pages import CELL_SHOWN, _retype, _upload, retried_note
from userbatch.admin.operators import add_operator
from userbatch.batches import drafts
from userbatch.db import dispose_engines, open_database
from userbatch.directory.auth import acting_operator
from userbatch.settings import Settings
from userbatch.ui.web import COOKIE
from userbatch.worker.runtime import stop_process

VIEWPORT = {"width": 1400, "height": 900}
OPERATOR_PASSWORD = data.ADMIN_PASSWORD
# Sign-ins whose page failed, tried again, and edits the page never took however often
# typed (the edits typed again are in pages.RETRIED).
RETRIED = {"sign_in": 0, "edit_never_taken": 0}


def restore_step(settings: dict[str, Any], file: str, reloads: int, edits: int) -> dict[str, Any]:
    """Step: serve the app; the admin signs in, uploads ``file`` and edits the bad login ID
    ``edits`` times; then ``reloads`` times: restart the server, open the app again (the
    draft restored), reload (the draft from memory). Last, ``restore_draft`` in-process."""
    chosen = Settings(**settings)
    first_login = _first_login(Path(file))
    port = free_port()
    url = f"http://localhost:{port}"
    serve, _ = serve_until_healthy(chosen, port)
    restored: list[float] = []
    in_memory: list[float] = []
    restarts: list[float] = []
    try:
        with sync_playwright() as playwright:
            browser = _browser(playwright)
            context, page = _signed_in(browser, url, data.ADMIN)
            _upload(page, Path(file), first_login)
            for edit in range(edits):
                _edited(page, f"fixed{edit:03d}" if edit % 2 == 0 else "ab1", first_login)
            idle(page)
            address = page.url
            for _ in range(reloads):
                page.goto("about:blank")  # no tab on the app: none reconnects first
                begun = time.perf_counter()
                stop_process(serve, timeout=60)
                serve, _ = serve_until_healthy(chosen, port)
                restarts.append(time.perf_counter() - begun)
                restored.append(_until_shown(page, lambda: page.goto(address), first_login))
                idle(page)
                in_memory.append(_until_shown(page, page.reload, first_login))
                idle(page)
            context.close()
            browser.close()
    finally:
        stop_process(serve, timeout=60)
    return {
        "restored_s": restored, "in_memory_s": in_memory, "restart_s": restarts,
        "in_process": _restore_in_process(chosen), "retried": {**RETRIED, **pages.RETRIED},
    }  # fmt: skip


def memory_step(settings: dict[str, Any], file: str, operators: int) -> dict[str, Any]:
    """Step: add ``operators`` operators; serve the app; each signs in in a context of their
    own, uploads and checks ``file`` and fixes the bad login ID; the contexts stay open. The
    app server's resident memory before, after each operator and at the end (its peak)."""
    chosen = Settings(**settings)
    logins = _add_operators(chosen, operators)
    first_login = _first_login(Path(file))
    port = free_port()
    url = f"http://localhost:{port}"
    serve, pids = serve_until_healthy(chosen, port)
    app = pids["app"]
    try:
        with sync_playwright() as playwright:
            browser = _browser(playwright)
            started = _memory(app)
            after: list[float] = []
            contexts: list[BrowserContext] = []
            for login in logins:
                context, page = _signed_in(browser, url, login)
                contexts.append(context)
                _upload(page, Path(file), first_login)
                _edited(page, f"fixed{login}", first_login)
                idle(page)
                after.append(_memory(app)["rss_mb"])
            time.sleep(2)  # the last rerun's garbage
            end = _memory(app)
            for context in contexts:
                context.close()
            browser.close()
    finally:
        stop_process(serve, timeout=60)
    return {
        "rss_mb": end["rss_mb"], "hwm_mb": end["hwm_mb"], "start_mb": started["rss_mb"],
        "after_each_mb": after, "in_memory": chosen.drafts_in_memory,
        "retried": {**RETRIED, **pages.RETRIED},
    }  # fmt: skip


def _browser(playwright: Any) -> Browser:
    browser: Browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    return browser


def _signed_in(browser: Browser, url: str, login: str) -> tuple[BrowserContext, Page]:
    """A browser context of its own, signed in as ``login``, with its session cookie. A
    sign-in whose page shows an exception instead is tried again from the start (the
    one-time code once made an element key that Streamlit refuses: one sign-in in ~40)."""
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    page = context.new_page()
    page.set_default_timeout(180_000)
    for attempt in range(3):
        page.goto(url)
        page.get_by_label("Login").fill(login)
        page.get_by_label("Password", exact=True).fill(OPERATOR_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        signed_in = page.get_by_text("Signed in as")
        signed_in.or_(page.get_by_test_id("stException")).first.wait_for()
        if signed_in.is_visible():
            break
        if attempt == 2:
            raise AssertionError(f"signing in as {login} failed three times")
        RETRIED["sign_in"] += 1
    wait_until(
        lambda: any(cookie["name"] == COOKIE for cookie in context.cookies()),
        timeout=30, what="the session cookie",
    )  # fmt: skip
    return context, page


def _edited(page: Page, login: str, first_login: str) -> None:
    """``pages._retype``; an edit the page never takes (it happens: see benchmarks/README.md)
    is counted and left out, the page reloaded, and the figure measured without it."""
    try:
        _retype(page, login, first_login)
    except PlaywrightTimeout:
        RETRIED["edit_never_taken"] += 1
        _until_shown(page, page.reload, first_login)


def _until_shown(page: Page, load: Callable[[], object], login: str) -> float:
    """Seconds from ``load`` (a navigation) until the grid shows the cell ``login``."""
    started = time.perf_counter()
    load()
    page.wait_for_function(CELL_SHOWN, arg=login, polling="raf", timeout=300_000)
    return time.perf_counter() - started


def _first_login(file: Path) -> str:
    with file.open("rb") as handle:
        handle.readline()
        return handle.readline().split(b",")[0].decode()


def _add_operators(settings: Settings, count: int, *, first: int = 1) -> list[str]:
    """``count`` more admins, numbered from ``first`` (their password is the seeded
    admin's); their logins."""
    engine = open_database(settings)
    admin = acting_operator(engine, data.ADMIN)
    logins = [f"drafter{number:02d}" for number in range(first, first + count)]
    for login in logins:
        add_operator(
            engine, admin, login=login, password=OPERATOR_PASSWORD, role="admin",
            min_password_length=settings.password_min_length,
        )  # fmt: skip
    dispose_engines()
    return logins


def _memory(pid: int) -> dict[str, float]:
    """The resident memory of process ``pid`` now and at its peak, MB of 10^6 bytes."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) * 1024 / 1e6  # the kernel's "kB" are KiB
    return {"rss_mb": fields["VmRSS"], "hwm_mb": fields["VmHWM"]}


def _restore_in_process(settings: Settings) -> dict[str, float]:
    """``restore_draft`` of the admin's draft in this process, twice (the first in a process
    that has checked nothing yet, as a restarted server's), with the check and the replay
    of the edits timed apart; seconds of the second run, and the first run's whole."""
    engine = open_database(settings)
    admin = acting_operator(engine, data.ADMIN)
    spent: dict[str, float] = {}

    def timing(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[name] = spent.get(name, 0.0) + time.perf_counter() - started

        return timed

    originals = {name: getattr(drafts, name) for name in ("check_file", "recheck", "digest")}
    for name, function in originals.items():
        setattr(drafts, name, timing(name, function))
    try:
        runs = []
        for _ in range(2):
            spent.update(dict.fromkeys(originals, 0.0))
            started = time.perf_counter()
            found = drafts.restore_draft(engine, settings, admin)
            took = time.perf_counter() - started
            assert found is not None, "the admin's draft"
            runs.append({"total": took, "edits": found.edits, **spent})
    finally:
        for name, function in originals.items():
            setattr(drafts, name, function)
        dispose_engines()
    warm = runs[1]
    return {
        "first_total_s": runs[0]["total"], "first_check_s": runs[0]["check_file"],
        "total_s": warm["total"], "check_s": warm["check_file"], "replay_s": warm["recheck"],
        "digest_s": warm["digest"], "edits": warm["edits"],
        "other_s": warm["total"] - warm["check_file"] - warm["recheck"] - warm["digest"],
    }  # fmt: skip


def figures(sizes: Sizes, workdir: Path) -> list[Figure]:
    """draft_restore_100k_s, server_rss_10_drafts_mb (None, with a note, without Chromium or
    when the figure's step failed)."""
    if not Path(CHROMIUM).exists():
        return no_chromium(CHROMIUM, ["draft_restore_100k_s", "server_rss_10_drafts_mb"])
    file = data.cached_file(data.FileMix(sizes.rows, sizes.users))
    return [_restore_figure(sizes, workdir, file), _memory_figure(sizes, workdir, file)]


def _restore_figure(sizes: Sizes, workdir: Path, file: Path) -> Figure:
    settings = {"data_dir": str(data.sqlite_copy(sizes.users, workdir / "drafts").data_dir)}
    try:
        found = run_step(
            "draft_restore", settings=settings, file=str(file), reloads=sizes.draft_reloads,
            edits=2,
        )  # fmt: skip
    except StepFailed as failure:
        return Figure("draft_restore_100k_s", None, note=f"failed: {failure}")
    restored, in_memory, split = found["restored_s"], found["in_memory_s"], found["in_process"]
    return Figure(
        "draft_restore_100k_s", median(restored), restored,
        rows_per_s=sizes.rows / median(restored),
        note=f"{sizes.rows:,}-row draft with {split['edits']} edit(s) against {sizes.users:,} "
        f"users, in {os.path.basename(CHROMIUM)}, each run after a restart of userbatch serve "
        f"(which took {number(median(found['restart_s']))} s); from memory (a plain reload) "
        f"{number(median(in_memory))} s (runs {_listed(in_memory)}); restore_draft in-process "
        f"{number(split['total_s'])} s = check {number(split['check_s'])} + replay "
        f"{number(split['replay_s'])} + digest {number(split['digest_s'])} + the rest "
        f"{number(split['other_s'])} ({number(split['first_total_s'])} s as a process's first)"
        f"{retried_note(found['retried'])}; no naive baseline",
    )  # fmt: skip


def _memory_figure(sizes: Sizes, workdir: Path, file: Path) -> Figure:
    settings = {"data_dir": str(data.sqlite_copy(sizes.users, workdir / "memory").data_dir)}
    try:
        found = run_step(
            "draft_memory", settings=settings, file=str(file), operators=sizes.draft_operators
        )
    except StepFailed as failure:
        return Figure("server_rss_10_drafts_mb", None, note=f"failed: {failure}")
    return Figure(
        "server_rss_10_drafts_mb", found["rss_mb"], [found["rss_mb"]], peak_mb=found["hwm_mb"],
        note=f"the app server's VmRSS with {sizes.draft_operators} operators' {sizes.rows:,}-row "
        f"drafts, each checked and one cell edited, every tab still open "
        f"({found['in_memory']} drafts kept in memory); peak MB is its VmHWM; before the first "
        f"sign-in {number(found['start_mb'])} MB, after each operator "
        f"{_listed(found['after_each_mb'])}"
        f"{retried_note(found['retried'])}",
    )  # fmt: skip


def _listed(values: list[float]) -> str:
    return ", ".join(number(value) for value in values)
