"""Times as the operator reads them: in the browser's time zone (the database keeps UTC),
written as the reader's language writes them."""

from __future__ import annotations

import zoneinfo
from typing import Any

import streamlit as st

from userbatch.i18n import _
from userbatch.i18n.formats import table_time


def browser_zone_name() -> str:
    """The browser's time zone (IANA name), or UTC when it says none or one unknown here."""
    name = st.context.timezone or "UTC"
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return "UTC"
    return name


def time_column(label: str | None = None, **options: Any) -> Any:
    """A table column of times, shown to the minute in the browser's time zone."""
    return st.column_config.DatetimeColumn(
        label, format=table_time(), timezone=browser_zone_name(), **options
    )


def zone_caption() -> str:
    return _("Times are in {zone} (your browser's time zone).", zone=browser_zone_name())
