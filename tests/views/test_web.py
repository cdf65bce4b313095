"""The session cookie's hand-over codes (``userbatch.ui.web``)."""

from __future__ import annotations

import re

from userbatch.directory.sessions import NewSession
from userbatch.ui import web


def test_a_hand_over_code_can_name_a_page_element() -> None:
    # Each code is part of an element's key, in which Streamlit refuses "__": an
    # url-safe code had it about once in forty sign-ins, and the page showed a traceback.
    codes = {web.hand_over(NewSession(1, "token", 60)) for _ in range(2_000)}
    assert len(codes) == 2_000
    assert all(re.fullmatch(r"[0-9a-f]{64}", code) for code in codes)
