"""The offer of demo data that an installation without users makes to administrators."""

from __future__ import annotations

import streamlit as st

from userbatch.admin.demo import GROUPS, USERS, has_users, load_demo
from userbatch.directory.auth import OperatorInfo
from userbatch.i18n import _
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
            _("**There are no users yet.** To try everything in a minute, load demo data: "
              "{groups} groups ({paths}), {users} users with Japanese and English names, and a "
              "second e-mail template. It is offered only while there are no users.",
              groups=len(GROUPS), paths=", ".join(GROUPS), users=USERS)
        )  # fmt: skip
        if st.button(_("Load demo data"), key=keys.LOAD_DEMO, icon=":material/science:"):
            act(
                lambda: load_demo(app.engine, operator),
                _(
                    "Loaded {count} demo users. Download them under Manage users, or try an "
                    "update.",
                    count=USERS,
                ),
                notice=keys.DEMO_NOTICE,
            )
