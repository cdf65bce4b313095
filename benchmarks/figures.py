"""The figures, their targets, the sizes they are measured at, and how they are
printed: a table for people, one JSON object for machines."""

from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Sizes:
    """How much work each figure does: the issue's sizes, or tiny ones for ``--quick``."""

    users: int  # users in the seeded database ("1M users")
    rows: int  # the "100k-row" files: checked, applied, uploaded in the browser
    big_rows: int  # the "1M-row" file
    naive_rows: int  # rows a naive baseline runs on; its time is extrapolated
    password_rows: int
    repeats: int  # most runs of each figure; the figure is their median
    budget_s: float  # no further run of a figure once it would end past this (see runs_within)
    edits: int  # edited cells timed for the re-check
    page_uploads: int
    page_edits: int
    draft_reloads: int  # restarts of the server, each followed by a reload of the draft
    draft_operators: int  # operators with a draft each, for the app server's memory
    crowd_operators: int  # operators who upload at once
    crowd_few: int  # operators who upload at once in the second, smaller crowd
    crowd_rows: int  # the rows of each one's file


FULL = Sizes(
    users=1_000_000, rows=100_000, big_rows=1_000_000, naive_rows=5_000,
    password_rows=400, repeats=3, budget_s=120, edits=9, page_uploads=3, page_edits=3,
    draft_reloads=3, draft_operators=10, crowd_operators=10, crowd_few=5, crowd_rows=20_000,
)  # fmt: skip
# The quick run walks every path of the full one at a tiny size: a second upload (after grid
# edits, "Re-upload" asks first whether to discard them) included.
QUICK = Sizes(
    users=3_000, rows=400, big_rows=1_000, naive_rows=100, password_rows=6, repeats=1,
    budget_s=10, edits=3, page_uploads=2, page_edits=2, draft_reloads=1, draft_operators=2,
    crowd_operators=2, crowd_few=1, crowd_rows=400,
)  # fmt: skip


@dataclass(frozen=True)
class Target:
    """At most or at least ``limit``; no limit for a baseline, measured to compare with."""

    at_most: bool
    limit: float | None
    unit: str

    @property
    def text(self) -> str:
        if self.limit is None:
            return "(baseline)"
        return f"{'≤' if self.at_most else '≥'} {self.limit:,g}" + _unit(self.unit)

    def met(self, value: float | None) -> bool | None:
        if value is None or self.limit is None:
            return None
        return value <= self.limit if self.at_most else value >= self.limit

    def verdict(self, value: float | None) -> str:
        """Whether ``value`` meets the target: "met", "n/a", "baseline" or "MISSED" with by
        how much."""
        met = self.met(value)
        if self.limit is None and value is not None:
            return "baseline"
        if met is None or value is None or self.limit is None:
            return "n/a"
        if met:
            return "met"
        if self.at_most:
            return f"MISSED ({value / self.limit:.1f}× the limit)"
        return f"MISSED ({value / self.limit:.0%} of it)"


# The figures and their targets, by part of the run (1.5 GB is 1,500 MB of 10^6). A target
# met is raised to the next goal; the machine's own limit is the bare baseline's.
PARTS: dict[str, dict[str, Target]] = {
    "checking": {
        "check_100k_s": Target(True, 1.0, "s"),
        "check_100k_ratio": Target(False, 20, "×"),
        "check_1m_s": Target(True, 8, "s"),
        "check_1m_peak_mb": Target(True, 1200, "MB"),
        "recheck_one_cell_ms": Target(True, 20, "ms"),
    },
    "applying": {
        "apply_new_sqlite_rows_s": Target(False, 25_000, "rows/s"),
        "bare_insert_sqlite_rows_s": Target(False, None, "rows/s"),
        "apply_vs_bare_sqlite": Target(False, 0.20, "×"),
        "apply_new_postgres_rows_s": Target(False, 15_000, "rows/s"),
        "apply_update_sqlite_rows_s": Target(False, 40_000, "rows/s"),
        "undo_100k_rows_s": Target(False, 20_000, "rows/s"),
        "password_2_workers_speedup": Target(False, 1.9, "×"),
        "apply_2_workers_postgres_speedup": Target(False, 1.6, "×"),
    },
    "pages": {
        "page_grid_visible_s": Target(True, 2, "s"),
        "page_edit_s": Target(True, 0.3, "s"),
        "page_quick_edits_kept": Target(False, 1, ""),
    },
    "searching": {
        "users_first_page_s": Target(True, 0.05, "s"),
        "users_search_s": Target(True, 0.1, "s"),
    },
    "drafts": {
        "draft_restore_100k_s": Target(True, 2, "s"),
        "server_rss_10_drafts_mb": Target(True, 2000, "MB"),
    },
    "crowd": {
        "page_10_operators_s": Target(True, 10, "s"),
        "server_rss_10_operators_mb": Target(True, 4000, "MB"),
        "health_10_operators_s": Target(True, 1, "s"),
        "page_5_operators_s": Target(True, 6, "s"),
        "api_check_100k_s": Target(True, 1.5, "s"),
    },
}
TARGETS: dict[str, Target] = {key: t for part in PARTS.values() for key, t in part.items()}


@dataclass
class Figure:
    """One measured figure: the median of its runs, with what it is compared with."""

    key: str
    value: float | None
    runs: list[float] = field(default_factory=list)
    rows_per_s: float | None = None
    peak_mb: float | None = None
    baseline: str = ""  # what the naive baseline took, in words
    vs_baseline: float | None = None  # how many times the naive baseline's time or rate
    note: str = ""


def no_chromium(chromium: str, keys: list[str]) -> list[Figure]:
    """The figures of a part measured in Chromium, None where there is none at ``chromium``."""
    note = f"no Chromium at {chromium} (Debian package 'chromium')"
    return [Figure(key, None, note=note) for key in keys]


def number(value: float) -> str:
    """A figure with the digits that matter: 12,345 / 123 / 12.3 / 1.23 / 0.0123."""
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def _unit(unit: str) -> str:
    return unit if unit in ("", "×") else " " + unit


def shown(value: float | None, unit: str = "") -> str:
    """A figure and its unit ("—" for none): 1.23 s, 4.5×."""
    return "—" if value is None else number(value) + _unit(unit)


COLUMNS = [
    ("figure", 33), ("value", 13), ("target", 15), ("result", 23), ("runs", 4),
    ("rows/s", 8), ("peak MB", 7), ("naive baseline", 46), ("vs naive", 8),
]  # fmt: skip


def table(figures: list[Figure]) -> str:
    """The figures as a fixed-width table, with each figure's note below it."""
    lines = ["  ".join(name.ljust(width) for name, width in COLUMNS).rstrip()]
    lines.append("  ".join("-" * width for _, width in COLUMNS))
    for figure in figures:
        target = TARGETS[figure.key]
        cells = [
            figure.key, shown(figure.value, target.unit), target.text,
            target.verdict(figure.value), str(len(figure.runs)) if figure.runs else "—",
            shown(figure.rows_per_s, ""), shown(figure.peak_mb, ""), figure.baseline or "—",
            shown(figure.vs_baseline, "×"),
        ]  # fmt: skip
        lines.append("  ".join(c.ljust(w) for c, (_, w) in zip(cells, COLUMNS, strict=True)))
        if figure.note:
            lines.append(" " * 4 + figure.note)
    return "\n".join(line.rstrip() for line in lines)


def machine() -> dict[str, Any]:
    """What the figures ran on."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    model = ""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next(line.split(":", 1)[1].strip() for line in cpuinfo if "model name" in line)
    except (OSError, StopIteration):
        pass
    return {
        "cpus": os.cpu_count(), "cpu": model, "memory_gib": round(memory, 1),
        "python": platform.python_version(), "system": platform.platform(),
    }  # fmt: skip


def document(figures: list[Figure], *, quick: bool) -> str:
    """The JSON line: every figure by key (null when it could not be measured), then
    ``targets`` (each target and whether it was met), ``naive``, ``notes`` and the machine."""
    by_key = {figure.key: figure for figure in figures}
    values: dict[str, Any] = {key: _rounded(by_key[key].value) for key in TARGETS}
    values["targets"] = {
        key: {"target": target.text, "met": target.met(by_key[key].value)}
        for key, target in TARGETS.items()
    }
    values["naive"] = {
        key: {"baseline": figure.baseline, "times": _rounded(figure.vs_baseline)}
        for key, figure in by_key.items()
        if figure.baseline
    }
    values["notes"] = {key: figure.note for key, figure in by_key.items() if figure.note}
    values["quick"] = quick
    values["machine"] = machine()
    return json.dumps(values, ensure_ascii=False)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
