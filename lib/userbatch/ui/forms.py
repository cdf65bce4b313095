"""Form parts more than one screen uses."""

from __future__ import annotations

import streamlit as st

from userbatch.i18n import _
from userbatch.ui import keys


def new_password(label: str, *, key: str, min_length: int) -> str | None:
    """A password field and its repetition (inside a form); after submission, the password,
    or None (with the reason shown) when the two differ. ``key`` prefixes the two fields'
    keys (``keys.password_fields``)."""
    password_key, confirm_key = keys.password_fields(key)
    password = st.text_input(
        label, type="password", key=password_key,
        help=_("At least {count} characters, with a letter and a digit, not containing the "
               "login ID.", count=min_length),
    )  # fmt: skip
    confirm = st.text_input(_("Repeat the password"), type="password", key=confirm_key)
    return password if password == confirm else None


def differing_passwords() -> None:
    st.error(_("The two passwords differ."))
