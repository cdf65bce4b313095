"""The language of the screens: the operator's choice, else the browser's, else English.

A page's run sets it for the thread that draws it (``speak``); a fragment's or a dialog's
run, which Streamlit may start in a thread of its own without the page, takes it again
from the session (``resume``). The sidebar's switch remembers a choice for the operator.
"""

from __future__ import annotations

import streamlit as st

from userbatch.admin.operators import own_language, set_own_language
from userbatch.directory.auth import OperatorInfo
from userbatch.i18n import ENGLISH, LANGUAGE_NAMES, LANGUAGES, language, set_language, supported
from userbatch.ui import keys
from userbatch.ui.context import AppContext


def speak(app: AppContext, operator: OperatorInfo | None) -> str:
    """Speak, on this run, the operator's language (asked of the database once a session),
    else the browser's, else English; returns it."""
    if operator is not None and keys.LANGUAGE not in st.session_state:
        st.session_state[keys.LANGUAGE] = own_language(app.engine, operator) or ""
    chosen = st.session_state.get(keys.LANGUAGE) if operator is not None else None
    code = chosen or browser()
    st.session_state[keys.LANGUAGE_NOW] = code
    set_language(code)
    return code


def browser() -> str:
    """The language of the browser that opened the page, if userbatch speaks it, else
    English."""
    return supported(st.context.locale) or ENGLISH


def resume() -> None:
    """In a fragment or a dialog: speak the language the page's last run spoke."""
    set_language(st.session_state.get(keys.LANGUAGE_NOW, ENGLISH))


def switch(app: AppContext, operator: OperatorInfo) -> None:
    """The sidebar's choice of language; a change is remembered for the operator."""
    current = language()
    picked = st.sidebar.selectbox(
        "Language / 言語", options=LANGUAGES, index=LANGUAGES.index(current),
        format_func=LANGUAGE_NAMES.__getitem__, key=keys.LANGUAGE_PICKER,
    )  # fmt: skip
    if picked != current:
        set_own_language(app.engine, operator, picked)
        st.session_state[keys.LANGUAGE] = picked
        st.rerun()
