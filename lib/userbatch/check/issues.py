"""Row-level problems as data: one ``Issue`` per bad cell (or row), formatted by the UI."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Level = Literal["error", "warning"]


@dataclass(frozen=True)
class Issue:
    """What is wrong with one cell: the spreadsheet row, the column label, a code, a message.

    ``field`` is the column's field key (``None`` for a problem of the whole row); warnings
    never block execution.
    """

    row: int
    column: str
    code: str
    message: str
    level: Level = "error"
    field: str | None = None

    def as_dict(self) -> dict[str, str]:
        return {
            "column": self.column,
            "level": self.level,
            "code": self.code,
            "message": self.message,
        }
