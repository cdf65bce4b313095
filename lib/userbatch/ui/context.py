"""The settings and the migrated database engine, built once per server process."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st
from sqlalchemy import Engine

from userbatch.db import open_database
from userbatch.errors import ConfigError
from userbatch.i18n import _
from userbatch.settings import Settings, get_settings


@dataclass(frozen=True)
class AppContext:
    settings: Settings
    engine: Engine


@st.cache_resource(show_spinner="Opening the database…")
def _open(settings: Settings) -> Engine:
    return open_database(settings)


def app_context() -> AppContext:
    """Settings and engine; a configuration error is shown and the page stops."""
    try:
        settings = get_settings()
        return AppContext(settings=settings, engine=_open(settings))
    except ConfigError as exc:
        st.error(_("userbatch cannot start: {error}", error=exc))
        st.stop()
