"""The "Batch user registration/update" screen: upload and check, fix in the grid, execute.

``state`` holds where the screen stands; ``upload``, ``grid`` and ``execute`` draw each
state and carry out its actions.
"""

from __future__ import annotations

import streamlit as st

from userbatch.directory.auth import OperatorInfo
from userbatch.directory.groups import GroupInfo
from userbatch.i18n import _
from userbatch.ui.batch import checking, execute, grid, upload
from userbatch.ui.batch.state import Checked, Refused, Stored, current
from userbatch.ui.context import AppContext, app_context
from userbatch.ui.session import current_operator
from userbatch.ui.sidebar import current_working_group


def render(app: AppContext, operator: OperatorInfo, working: GroupInfo) -> None:
    st.title(_("Batch user registration/update"))
    checking.follow(app, operator)
    match current(app, operator):
        case None:
            upload.start(app, operator, working)
        case Refused() as refused:
            upload.refused(app, operator, working, refused)
        case Checked() as checked:
            grid.checked(app, operator, working, checked)
        case Stored() as stored:
            execute.stored(stored)


# Streamlit runs this file as the Batch user registration/update screen (app.py).
if __name__ == "__main__":
    _app = app_context()
    _operator = current_operator(_app)
    assert _operator is not None  # app.py lets only signed-in operators reach this screen
    render(_app, _operator, current_working_group())
