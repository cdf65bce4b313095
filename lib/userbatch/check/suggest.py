"""What a bad cell was probably meant to be: the closest of the accepted texts, a date
written another way, and the marks of Excel's damage (serial dates, scientific notation)."""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Sequence

# Dates people write that the column does not take: 2027.03.31, 20270331, 2027年3月31日.
_OTHER_DATES = (
    re.compile(r"(\d{4})\.(\d{1,2})\.(\d{1,2})"),
    re.compile(r"(\d{4})(\d{2})(\d{2})"),
    re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日"),
)
# A date cell Excel saved as its serial number (days since 1899-12-30): 46477 is 2027-03-31.
_SERIAL_DATE = re.compile(r"\d{1,5}(?:\.0+)?")
_EXCEL_EPOCH = dt.date(1899, 12, 30)
# Long digit strings Excel shows, and saves, in scientific notation: 1.23E+11.
_SCIENTIFIC = re.compile(r"\d(?:\.\d+)?E\+\d+", re.IGNORECASE)


def closest(text: str, choices: Sequence[str]) -> str | None:
    """The choice closest to ``text`` (case aside), when one is close enough to be a typo."""
    by_folded = {choice.casefold(): choice for choice in choices}
    found = difflib.get_close_matches(text.casefold(), list(by_folded), n=1, cutoff=0.7)
    return by_folded[found[0]] if found else None


def suggest_date(cell: str) -> tuple[str, bool] | None:
    """A date cell the column does not take, as the YYYY-MM-DD it stands for, and whether it
    is an Excel serial number; None when it stands for no date."""
    for pattern in _OTHER_DATES:
        match = pattern.fullmatch(cell)
        if match:
            try:
                return dt.date(*(int(part) for part in match.groups())).isoformat(), False
            except ValueError:
                return None
    if _SERIAL_DATE.fullmatch(cell) and int(float(cell)) > 0:
        return (_EXCEL_EPOCH + dt.timedelta(days=int(float(cell)))).isoformat(), True
    return None


def looks_scientific(cell: str) -> bool:
    """Whether ``cell`` is a number in scientific notation, as Excel writes long digits."""
    return _SCIENTIFIC.fullmatch(cell) is not None
