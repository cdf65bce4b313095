"""The session cookie's hand-over codes (``userbatch.ui.web``)."""

from __future__ import annotations

import ast
import re
import subprocess
import sys

from userbatch.directory.sessions import NewSession
from userbatch.ui import web


def test_a_hand_over_code_can_name_a_page_element() -> None:
    # Each code is part of an element's key, in which Streamlit refuses "__": an
    # url-safe code had it about once in forty sign-ins, and the page showed a traceback.
    codes = {web.hand_over(NewSession(1, "token", 60)) for _ in range(2_000)}
    assert len(codes) == 2_000
    assert all(re.fullmatch(r"[0-9a-f]{64}", code) for code in codes)


def test_the_screens_modules_are_imported_at_start() -> None:
    # A fresh interpreter: this one has imported the screens already.
    code = (
        "import sys; from userbatch.ui.web import import_screens; import_screens(); "
        "print(sorted(name for name in sys.modules if name.startswith('userbatch.ui.')))"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(ast.literal_eval(found.stdout))
    assert {"userbatch.ui.batch.grid", "userbatch.ui.users", "userbatch.ui.jobs"} <= loaded
