"""The offer of demo data that an installation without users makes to administrators."""

from __future__ import annotations

import streamlit as st

from userbatch.admin.demo import GROUPS, USERS, has_users, load_demo
from userbatch.directory.auth import OperatorInfo
from userbatch.ui import keys
from userbatch.ui.actions import act, show_notice
from userbatch.ui.context import AppContext


def offer(app: AppContext, operator: OperatorInfo) -> None:
    """A box with "Load demo data" while no user exists (never loaded without a click)."""
    show_notice(keys.DEMO_NOTICE)
    if not operator.is_admin or has_users(app.engine):
        return
    with st.container(border=True):
        st.markdown(
            f"**There are no users yet.** To try everything in a minute, load demo data: "
            f"{len(GROUPS)} groups ({', '.join(GROUPS)}), {USERS} users with Japanese and "
            "English names, and a second e-mail template. It is offered only while there are "
            "no users."
        )
        if st.button("Load demo data", key=keys.LOAD_DEMO, icon=":material/science:"):
            act(
                lambda: load_demo(app.engine, operator),
                f"Loaded {USERS} demo users. Download them under Manage users, or try an update.",
                notice=keys.DEMO_NOTICE,
            )
