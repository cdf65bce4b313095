"""Edits of many cells at once, worked out from a check: every cell fixed like this one, find
and replace, a block pasted from a spreadsheet, and where the next error is.

Each returns the cells to change (row number -> field key -> text), which the caller puts
through the incremental re-check as one edit; none changes the check itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from userbatch.check.state import CheckResult

Cells = dict[int, dict[str, str]]  # row number -> field key -> text
ROW = "#row"  # where a problem of the whole row is: the row's number


def suggested(result: CheckResult) -> dict[tuple[str, str, str], Cells]:
    """Every cell the check knows the fix of, grouped by (code, field key, text) in file
    order, each set to its suggestion: what "Apply to all N like it" and "Suggested fixes"
    apply."""
    cells = result.table.cells
    groups: dict[tuple[str, str, str], Cells] = {}
    for row in sorted(result.issues):
        for issue in result.issues[row]:
            if issue.suggestion is not None and issue.field:
                group = groups.setdefault((issue.code, issue.field, cells.at[row, issue.field]), {})
                group.setdefault(row, {})[issue.field] = issue.suggestion
    return groups


def like_it(result: CheckResult, row: int, field: str, code: str) -> Cells:
    """Every cell with the same problem (code) and the same text as this one, each set to its
    suggestion; empty when this cell has no such problem (any more)."""
    cells = result.table.cells
    if row not in cells.index or field not in cells.columns:
        return {}
    return suggested(result).get((code, field, cells.at[row, field]), {})


def replaced(
    result: CheckResult,
    find: str,
    replacement: str,
    *,
    field: str | None = None,
    within: Iterable[tuple[int, str]] = (),
    whole: bool = False,
    match_case: bool = False,
) -> Cells:
    """The cells of one column (``field``) or of the cells ``within`` whose text contains
    ``find`` (or is it, with ``whole``), with it replaced; only cells whose text changes."""
    if not find:
        return {}
    cells = result.table.cells
    if field is not None:
        places: dict[str, list[int]] = {field: cells.index.tolist()} if field in cells else {}
    else:
        places = {}
        for row, key in within:
            if row in cells.index and key in cells.columns:
                places.setdefault(key, []).append(row)
    flags = 0 if match_case else re.IGNORECASE
    pattern = re.compile(("^" + re.escape(find) + "$") if whole else re.escape(find), flags)
    changed: Cells = {}
    for key, rows in places.items():
        column = cells.loc[rows, key]
        hits = column[column.str.contains(pattern)]
        new = hits.str.replace(pattern, lambda _: replacement, regex=True)
        for row, text in new[new != hits].items():
            changed.setdefault(int(row), {})[key] = text
    return changed


def pasted(
    shown: Sequence[int], fields: Sequence[str], row: int, field: str, block: list[list[str]]
) -> tuple[Cells, int]:
    """A block of cells (lines of cells, as a spreadsheet copies them) laid over the rows in
    the order shown and the file's columns from (``row``, ``field``): the cells, and how
    many of the block's cells fell past the last row or column."""
    try:
        first, left = shown.index(row), list(fields).index(field)
    except ValueError:
        return {}, sum(map(len, block))
    cells: Cells = {}
    dropped = 0
    for down, line in enumerate(block):
        for across, text in enumerate(line):
            if first + down >= len(shown) or left + across >= len(fields):
                dropped += 1
                continue
            cells.setdefault(shown[first + down], {})[fields[left + across]] = text
    return cells, dropped


def next_error(
    result: CheckResult,
    shown: Sequence[int],
    fields: Sequence[str],
    row: int,
    column: str,
    *,
    back: bool = False,
) -> tuple[int, str] | None:
    """The next (or previous) cell with an error after (``row``, ``column``) in the order
    shown, wrapping round the end; ``ROW`` stands for a problem of the whole row. None
    when no row shown has an error."""
    order = [ROW, *fields]

    def bad(number: int) -> list[str]:
        keys = {
            issue.field or ROW for issue in result.issues.get(number, ()) if issue.level == "error"
        }
        return [key for key in order if key in keys]

    try:
        start = shown.index(row)
    except ValueError:
        start = -1 if not back else len(shown)
    here = order.index(column) if column in order else (-1 if not back else len(order))
    if 0 <= start < len(shown):
        same = [
            key
            for key in bad(shown[start])
            if (order.index(key) < here if back else order.index(key) > here)
        ]
        if same:
            return shown[start], same[-1] if back else same[0]
    count = len(shown)
    step = -1 if back else 1
    for offset in range(1, count + 1):
        number = shown[(start + step * offset) % count]
        keys = bad(number)
        if keys:
            return number, keys[-1] if back else keys[0]
    return None
