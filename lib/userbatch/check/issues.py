"""Row-level problems as data: one ``Issue`` per bad cell (or row), formatted by the UI."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Level = Literal["error", "warning"]


@dataclass(frozen=True)
class Issue:
    """What is wrong with one cell: the spreadsheet row, the column label, a code, a message.

    ``field`` is the column's field key (``None`` for a problem of the whole row); warnings
    never block execution. ``suggestion`` is the cell's whole text that would fix it (the
    closest group, status or option, a date as YYYY-MM-DD), when the check knows one.
    """

    row: int
    column: str
    code: str
    message: str
    level: Level = "error"
    field: str | None = None
    suggestion: str | None = None  # the cell's text that would fix it, when the check knows

    def as_dict(self) -> dict[str, str]:
        shown = {
            "column": self.column,
            "level": self.level,
            "code": self.code,
            "message": self.message,
        }
        if self.suggestion is not None:
            shown["suggestion"] = self.suggestion
        return shown
