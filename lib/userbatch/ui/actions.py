"""One domain call per click: a refusal is shown, a success survives the rerun as a notice.

Both quote names and cells, so both are shown literally (``inert``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import streamlit as st

from userbatch.errors import UserbatchError
from userbatch.ui.text import inert


def show_notice(key: str) -> None:
    """The success notice that the last action left under ``key``, once."""
    notice = st.session_state.pop(key, None)
    if notice:
        st.success(inert(notice))


def act(
    action: Callable[[], object], done: str, *, notice: str, forget: Iterable[str] = ()
) -> None:
    """Run ``action``; on success keep ``done`` under ``notice``, drop the widget states in
    ``forget`` and rerun; on a ``UserbatchError`` show its message."""
    try:
        action()
    except UserbatchError as exc:
        st.error(inert(str(exc)))
        return
    for key in forget:
        st.session_state.pop(key, None)
    st.session_state[notice] = done
    st.rerun()
