"""userbatch: page config, the screens, the sign-in gate, the sidebar and the navigation.

``server.py`` serves this with the route that makes a sign-in last; ``streamlit run app.py``
serves it alone (a sign-in then lasts for its tab).

Each screen is the ui module that draws it: Streamlit runs the module's file as the page.
Before sign-in every screen's address shows the gate (set-up or sign-in) instead, so a
bookmark or a link in a mail leads to the screen it names once the operator has signed in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from userbatch.directory.auth import OperatorInfo, needs_setup
from userbatch.i18n import N_, _
from userbatch.ui import (
    accept,
    batch,
    email_templates,
    groups,
    input_fields,
    jobs,
    language,
    operators,
    outbox,
    session,
    sidebar,
    users,
    webhooks,
)
from userbatch.ui.context import app_context


@dataclass(frozen=True)
class Screen:
    module: ModuleType  # the page's file
    url_path: str
    title: str
    icon: str
    admin_only: bool = False

    def page(self, *, default: bool = False, hidden: bool = False) -> StreamlitPage:
        return st.Page(
            str(self.module.__file__), title=_(self.title), icon=self.icon, url_path=self.url_path,
            default=default, visibility="hidden" if hidden else "visible",
        )  # fmt: skip


# Sections and titles are message ids, shown in the reader's language.
SECTIONS: dict[str, list[Screen]] = {
    N_("Batch operation (CSV)"): [
        Screen(batch, "batch_upload", N_("Batch user registration/update"),
               ":material/upload_file:"),
    ],
    N_("Users"): [
        Screen(users, "users", N_("Manage users"), ":material/group:"),
        Screen(groups, "groups", N_("Groups"), ":material/account_tree:"),
    ],
    N_("Settings"): [
        Screen(input_fields, "input_fields", N_("Input field settings"), ":material/tune:"),
        Screen(email_templates, "email_templates", N_("E-mail templates"), ":material/mail:"),
        Screen(operators, "operators", N_("Operators"), ":material/badge:", admin_only=True),
        Screen(webhooks, "webhooks", N_("Webhooks"), ":material/webhook:", admin_only=True),
    ],
    N_("Background processing"): [
        Screen(jobs, "background", N_("Background processing"), ":material/sync:"),
        Screen(outbox, "outbox", N_("Outbox"), ":material/outbox:"),
    ],
}  # fmt: skip
SCREENS = [screen for screens in SECTIONS.values() for screen in screens]
# Reachable without signing in: the page an invitation links to.
PUBLIC = Screen(accept, "accept", N_("Set your password"), ":material/key:")


def gate(render: Callable[[], None], title: str) -> list[StreamlitPage]:
    """``render`` at the address of every screen (the first one is the default)."""
    return [
        st.Page(render, title=title, url_path=screen.url_path, default=index == 0)
        for index, screen in enumerate(SCREENS)
    ] + [st.Page(str(PUBLIC.module.__file__), title=_(PUBLIC.title), url_path=PUBLIC.url_path)]


def screens_for(operator: OperatorInfo) -> dict[str, list[StreamlitPage]]:
    """The sections and screens this operator may open; the first screen is the default."""
    sections = {
        _(section): [
            screen.page(default=screen == SCREENS[0])
            for screen in screens
            if operator.is_admin or not screen.admin_only
        ]
        for section, screens in SECTIONS.items()
    }
    sections[_("Background processing")].append(PUBLIC.page(hidden=True))
    return sections


# An emoji: Streamlit fetches a Material page icon from Google's font server, which the
# Content-Security-Policy refuses (docs/security.md).
st.set_page_config(page_title="userbatch", page_icon="👥", layout="wide")
app = app_context()

if needs_setup(app.engine):
    language.speak(app, None)
    st.navigation(gate(lambda: session.first_run_form(app), _("Set-up")), position="hidden").run()
    st.stop()

operator = session.current_operator(app)
session.exchange_cookie()  # after: a company sign-in opens its session just above
language.speak(app, operator)
if operator is None:
    st.navigation(gate(lambda: session.sign_in_form(app), _("Sign in")), position="hidden").run()
    st.stop()

sidebar.render(app, operator)
st.navigation(screens_for(operator)).run()
