"""Many operators at once in Chromium against ``userbatch serve``: 10 operators, each signed
in in a browser context of their own, press "Upload and check" on a 20k-row file within the
same second.

- ``page_10_operators_s``: from the first press until the last of the ten grids shows its
  file's first row. Each operator's file has a first login ID of its own, and each grid is
  then asked for every other operator's: a grid showing another's row fails the step.
- ``health_10_operators_s``: meanwhile a thread asks ``/_stcore/health`` every 0.1 s, from
  the first press until the last grid is shown: its slowest answer.
- ``server_rss_10_operators_mb``: the app server's resident memory once the ten grids are
  shown, its peak (``VmHWM``) in the peak column.

At most ``USERBATCH_CHECKS_AT_ONCE`` (4) of the checks run at once; the others wait for a
free slot, their pages saying so.
"""

from __future__ import annotations

import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from playwright.sync_api import expect, sync_playwright
from tests.browser.conftest import CHROMIUM
from tests.helpers import free_port, serve_until_healthy

from benchmarks import data
from benchmarks.drafts import _add_operators, _browser, _first_login, _memory, _signed_in
from benchmarks.figures import Figure, Sizes, no_chromium, number
from benchmarks.measure import StepFailed, run_step
from benchmarks.pages import CELL_SHOWN
from userbatch.settings import Settings
from userbatch.worker.runtime import stop_process

KEYS = ["page_10_operators_s", "server_rss_10_operators_mb", "health_10_operators_s"]


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


def crowd_step(settings: dict[str, Any], file: str, operators: int, folder: str) -> dict[str, Any]:
    """Step: add ``operators`` operators; serve the app; each signs in and puts a copy of
    ``file`` (with a first login ID of its own) into the uploader; then they all press
    "Upload and check" one after the other at once."""
    chosen = Settings(**settings)
    logins = _add_operators(chosen, operators)
    files = [_own_copy(Path(file), Path(folder), index) for index in range(operators)]
    firsts = [_first_login(own) for own in files]
    port = free_port()
    url = f"http://localhost:{port}"
    serve, pids = serve_until_healthy(chosen, port)
    try:
        with sync_playwright() as playwright:
            browser = _browser(playwright)
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
            memory = _memory(pids["app"])
            for (_, page), own_first in zip(tabs, firsts, strict=True):
                for other in firsts:
                    if other != own_first and page.evaluate(CELL_SHOWN, other):
                        raise AssertionError(f"a grid of {own_first} shows {other}'s row")
            for context, _ in tabs:
                context.close()
            browser.close()
    finally:
        stop_process(serve, timeout=60)
    return {
        "last_shown_s": max(shown), "shown_s": shown, "pressed_s": pressed,
        "health_max_s": max(health.seconds, default=0.0), "health_polls": len(health.seconds),
        "rss_mb": memory["rss_mb"], "hwm_mb": memory["hwm_mb"],
        "checks_at_once": chosen.checks_at_once,
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
    """page_10_operators_s, server_rss_10_operators_mb, health_10_operators_s (None, with a
    note, without Chromium or when the step failed)."""
    if not Path(CHROMIUM).exists():
        return no_chromium(CHROMIUM, KEYS)
    file = data.cached_file(data.FileMix(sizes.crowd_rows, sizes.users))
    settings = {"data_dir": str(data.sqlite_copy(sizes.users, workdir / "crowd").data_dir)}
    try:
        found = run_step(
            "crowd", settings=settings, file=str(file), operators=sizes.crowd_operators,
            folder=str(workdir / "crowd-files"),
        )  # fmt: skip
    except StepFailed as failure:
        return [Figure(key, None, note=f"failed: {failure}") for key in KEYS]
    who = f"{sizes.crowd_operators} operators' {sizes.crowd_rows:,}-row files"
    return [
        Figure(
            "page_10_operators_s", found["last_shown_s"], [found["last_shown_s"]],
            rows_per_s=sizes.crowd_operators * sizes.crowd_rows / found["last_shown_s"],
            note=f"{who} against {sizes.users:,} users, pressed within "
            f"{number(found['pressed_s'])} s, {found['checks_at_once']} checks at once; the "
            f"grids shown after {', '.join(number(s) for s in found['shown_s'])} s; each grid "
            f"showed its own file only; no naive baseline",
        ),
        Figure(
            "server_rss_10_operators_mb", found["rss_mb"], [found["rss_mb"]],
            peak_mb=found["hwm_mb"],
            note=f"the app server's VmRSS once the {who} were all shown; peak MB is its VmHWM",
        ),
        Figure(
            "health_10_operators_s", found["health_max_s"], [found["health_max_s"]],
            note=f"the slowest of {found['health_polls']} answers of /_stcore/health, asked "
            f"every 0.1 s while the {who} were checked and shown",
        ),
    ]  # fmt: skip
