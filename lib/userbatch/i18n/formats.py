"""Dates, times and numbers as the reader's language writes them (Babel's patterns).

``moment`` writes a time to the minute in a time zone: "Dec 3, 2026, 3:04 PM" in English,
"2026/12/03 15:04" in Japanese. ``number`` groups the digits as the language does. The
screens' tables show times with ``TABLE_TIME`` (moment.js tokens, as Streamlit's columns take
them).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from userbatch.i18n import JAPANESE, language

# How a table column shows a time to the minute, by language (Streamlit's column format).
TABLE_TIME = {JAPANESE: "YYYY/MM/DD HH:mm"}
TABLE_TIME_DEFAULT = "YYYY-MM-DD HH:mm"


def moment(value: dt.datetime, zone: str = "UTC") -> str:
    """``value`` (naive: UTC, as the database keeps it) in the time zone ``zone``, written to
    the minute as the current language writes a date and a time."""
    # Babel is imported here: the workbook reader's child process imports userbatch.i18n.
    from babel.dates import format_date, format_time, get_datetime_format

    aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    local = aware.astimezone(zoneinfo.ZoneInfo(zone))
    locale = language()
    pattern = str(get_datetime_format("medium", locale=locale)).replace("'", "")
    return pattern.replace("{0}", format_time(local, "short", locale=locale)).replace(
        "{1}", format_date(local, "medium", locale=locale)
    )


def number(n: float) -> str:
    """``n`` with its digits grouped as the current language writes it ("12,345")."""
    from babel.numbers import format_decimal

    return format_decimal(n, locale=language())


def table_time() -> str:
    """The format of a table column of times, in the current language."""
    return TABLE_TIME.get(language(), TABLE_TIME_DEFAULT)


def iso(value: dt.datetime | None) -> str | None:
    """``value`` for a machine (a ``--json`` document, the API): ISO 8601, or None."""
    return value.isoformat() if value is not None else None
