"""Many operators at once in Chromium against ``userbatch serve``, and the API's check, on
one served app:

- ``api_check_100k_s``: first, with nobody signed in, a POST of the 100k-row file to
  ``/api/v1/batches`` (the admin's token) until its check document is back (``422``: the file
  has bad rows), the median of the runs.
- ``page_10_operators_s``: 10 operators, each signed in in a browser context of their own,
  press "Upload and check" on a 20k-row file within the same second: from the first press
  until the last of the ten grids shows its file's first row. Each operator's file has a
  first login ID of its own, and each grid is then asked for every other operator's: a grid
  showing another's row fails the step.
- ``health_10_operators_s``: meanwhile a thread asks ``/_stcore/health`` every 0.1 s, from
  the first press until the last grid is shown: its slowest answer.
- ``server_rss_10_operators_mb``: the app server's resident memory once the ten grids are
  shown, its peak (``VmHWM``) in the peak column.
- ``page_5_operators_s``: then, their tabs closed, 5 other operators do the same: the
  slowest of their grids.

At most ``USERBATCH_CHECKS_AT_ONCE`` (4) of the checks run at once; the others wait for a
free slot, their pages saying so.
"""

from __future__ import annotations

import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, expect, sync_playwright
from tests.browser.conftest import CHROMIUM
from tests.helpers import free_port, serve_until_healthy

from benchmarks import data
from benchmarks.drafts import _add_operators, _browser, _first_login, _memory, _signed_in
from benchmarks.figures import PARTS, Figure, Sizes, no_chromium, number
from benchmarks.measure import StepFailed, median, run_step
from benchmarks.pages import CELL_SHOWN
from userbatch.db import open_database
from userbatch.directory.auth import acting_operator
from userbatch.directory.tokens import create_token
from userbatch.settings import Settings
from userbatch.worker.runtime import stop_process

KEYS = list(PARTS["crowd"])


class _Health(threading.Thread):
    """Asks ``/_stcore/health`` every 0.1 s until stopped; keeps each answer's seconds."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.stopped, self.seconds = f"{url}/_stcore/health", threading.Event(), []

    def run(self) -> None:
        while not self.stopped.wait(0.1):
            started = time.perf_counter()
            with urllib.request.urlopen(self.url, timeout=60) as answer:
                answer.read()
            self.seconds.append(time.perf_counter() - started)


def crowd_step(
    settings: dict[str, Any],
    file: str,
    api_file: str,
    api_runs: int,
    rounds: list[int],
    folder: str,
) -> dict[str, Any]:
    """Step: serve the app; POST ``api_file`` to the API ``api_runs`` times; then for each
    count of ``rounds``, as many new operators sign in, each puts a copy of ``file`` (with a
    first login ID of its own) into the uploader, and they all press "Upload and check" one
    after the other at once."""
    chosen = Settings(**settings)
    port = free_port()
    url = f"http://localhost:{port}"
    serve, pids = serve_until_healthy(chosen, port)
    try:
        api = [_api_check(chosen, url, Path(api_file)) for _ in range(api_runs)]
        found: dict[str, Any] = {"api_s": api, "rounds": []}
        with sync_playwright() as playwright:
            browser = _browser(playwright)
            for number, operators in enumerate(rounds):
                files = [
                    _own_copy(Path(file), Path(folder), number * 100 + index)
                    for index in range(operators)
                ]
                logins = _add_operators(chosen, operators, first=number * 100 + 1)
                found["rounds"].append(_round(browser, url, logins, files, pids["app"]))
            browser.close()
    finally:
        stop_process(serve, timeout=60)
    found["checks_at_once"] = chosen.checks_at_once
    return found


def _api_check(settings: Settings, url: str, file: Path) -> float:
    """Seconds from POSTing ``file`` to the API until its check document is read."""
    engine = open_database(settings)
    admin = acting_operator(engine, data.ADMIN)
    token = create_token(engine, admin, f"bench {time.time_ns()}").token
    body = file.read_bytes()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "text/csv"}
    with httpx.Client(base_url=f"{url}/api/v1", headers=headers, timeout=600) as client:
        started = time.perf_counter()
        answer = client.post("/batches", content=body, params={"file_name": file.name})
        document = answer.json()
        seconds = time.perf_counter() - started
    assert answer.status_code == 422 and document["counts"]["error"], answer.status_code
    return seconds


def _round(
    browser: Browser, url: str, logins: list[str], files: list[Path], app: int
) -> dict[str, Any]:
    """The operators sign in, put their files in and press "Upload and check" at once."""
    firsts = [_first_login(own) for own in files]
    tabs = [_signed_in(browser, url, login) for login in logins]
    buttons = []
    for (_, page), own in zip(tabs, files, strict=True):
        page.locator("input[type=file]").set_input_files(own)
        button = page.get_by_role("button", name="Upload and check")
        expect(button).to_be_enabled(timeout=120_000)
        buttons.append(button)
    health = _Health(url)
    health.start()
    started = time.perf_counter()
    for button in buttons:
        button.click()
    pressed = time.perf_counter() - started
    shown = []
    for (_, page), first in zip(tabs, firsts, strict=True):
        page.wait_for_function(CELL_SHOWN, arg=first, polling="raf", timeout=600_000)
        shown.append(time.perf_counter() - started)
    health.stopped.set()
    health.join(timeout=60)
    memory = _memory(app)
    for (_, page), own_first in zip(tabs, firsts, strict=True):
        for other in firsts:
            if other != own_first and page.evaluate(CELL_SHOWN, other):
                raise AssertionError(f"a grid of {own_first} shows {other}'s row")
    for context, _ in tabs:
        context.close()
    return {
        "operators": len(logins), "last_shown_s": max(shown), "shown_s": shown,
        "pressed_s": pressed, "health_max_s": max(health.seconds, default=0.0),
        "health_polls": len(health.seconds), "rss_mb": memory["rss_mb"],
        "hwm_mb": memory["hwm_mb"],
    }  # fmt: skip


def _own_copy(file: Path, folder: Path, number: int) -> Path:
    """``file`` with its first row's login ID made this operator's own (same length)."""
    folder.mkdir(parents=True, exist_ok=True)
    header, first, rest = file.read_bytes().split(b"\n", 2)
    login, cells = first.split(b",", 1)
    own = folder / f"operator{number:02d}.csv"
    own.write_bytes(
        b"\n".join([header, f"o{number:02d}".encode() + login[3:] + b"," + cells, rest])
    )
    return own


def figures(sizes: Sizes, workdir: Path) -> list[Figure]:
    """page_10_operators_s, server_rss_10_operators_mb, health_10_operators_s,
    page_5_operators_s, api_check_100k_s (None, with a note, without Chromium or when the
    step failed)."""
    if not Path(CHROMIUM).exists():
        return no_chromium(CHROMIUM, KEYS)
    file = data.cached_file(data.FileMix(sizes.crowd_rows, sizes.users))
    api_file = data.cached_file(data.FileMix(sizes.rows, sizes.users))
    settings = {"data_dir": str(data.sqlite_copy(sizes.users, workdir / "crowd").data_dir)}
    try:
        found = run_step(
            "crowd", settings=settings, file=str(file), api_file=str(api_file),
            api_runs=sizes.repeats, rounds=[sizes.crowd_operators, sizes.crowd_few],
            folder=str(workdir / "crowd-files"),
        )  # fmt: skip
    except StepFailed as failure:
        return [Figure(key, None, note=f"failed: {failure}") for key in KEYS]
    many, few = found["rounds"]
    api = median(found["api_s"])
    return [
        *_crowd_figures(many, sizes, found["checks_at_once"]),
        Figure(
            "page_5_operators_s", few["last_shown_s"], [few["last_shown_s"]],
            rows_per_s=few["operators"] * sizes.crowd_rows / few["last_shown_s"],
            note=f"{_who(few, sizes)} against {sizes.users:,} users, after the "
            f"{many['operators']} above had closed their tabs; the grids shown after "
            f"{', '.join(number(s) for s in few['shown_s'])} s; no naive baseline",
        ),
        Figure(
            "api_check_100k_s", api, found["api_s"], rows_per_s=sizes.rows / api,
            note=f"POST /api/v1/batches of the {sizes.rows:,}-row file (about 5% bad rows) "
            f"against {sizes.users:,} users until its check document (422) is read, on the "
            "served app with nobody signed in; compare check_100k_s",
        ),
    ]  # fmt: skip


def _who(found: dict[str, Any], sizes: Sizes) -> str:
    return f"{found['operators']} operators' {sizes.crowd_rows:,}-row files"


def _crowd_figures(many: dict[str, Any], sizes: Sizes, checks_at_once: int) -> list[Figure]:
    who = _who(many, sizes)
    return [
        Figure(
            "page_10_operators_s", many["last_shown_s"], [many["last_shown_s"]],
            rows_per_s=many["operators"] * sizes.crowd_rows / many["last_shown_s"],
            note=f"{who} against {sizes.users:,} users, pressed within "
            f"{number(many['pressed_s'])} s, {checks_at_once} checks at once; the "
            f"grids shown after {', '.join(number(s) for s in many['shown_s'])} s; each grid "
            f"showed its own file only; no naive baseline",
        ),
        Figure(
            "server_rss_10_operators_mb", many["rss_mb"], [many["rss_mb"]],
            peak_mb=many["hwm_mb"],
            note=f"the app server's VmRSS once the {who} were all shown; peak MB is its VmHWM",
        ),
        Figure(
            "health_10_operators_s", many["health_max_s"], [many["health_max_s"]],
            note=f"the slowest of {many['health_polls']} answers of /_stcore/health, asked "
            f"every 0.1 s while the {who} were checked and shown",
        ),
    ]  # fmt: skip
