"""Row-level problems as data: one ``Issue`` per bad cell (or row), its words made when shown,
in the reader's language (``userbatch.i18n``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from userbatch.i18n import Words

Level = Literal["error", "warning"]


@dataclass(frozen=True)
class Issue:
    """What is wrong with one cell: the spreadsheet row, the column label, a code, a message
    (its message id and parameters; ``str(issue.message)`` is the text now).

    ``field`` is the column's field key (``None`` for a problem of the whole row); warnings
    never block execution. ``suggestion`` is the cell's whole text that would fix it (the
    closest group, status or option, a date as YYYY-MM-DD), when the check knows one.
    """

    row: int
    column: str
    code: str
    message: Words
    level: Level = "error"
    field: str | None = None
    suggestion: str | None = None  # the cell's text that would fix it, when the check knows

    def as_dict(self) -> dict[str, str]:
        shown = {
            "column": self.column,
            "level": self.level,
            "code": self.code,
            "message": str(self.message),
        }
        if self.suggestion is not None:
            shown["suggestion"] = self.suggestion
        return shown
