"""The screens of the app, by section, and the gate that stands in for them.

Before sign-in every screen's address shows the gate (set-up or sign-in) instead, so a
bookmark or a link in a mail leads to the screen it names once the operator has signed in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from userbatch.directory.auth import OperatorInfo


@dataclass(frozen=True)
class Screen:
    file: str
    title: str
    icon: str
    admin_only: bool = False

    @property
    def url_path(self) -> str:
        return self.file.removeprefix("views/").removesuffix(".py")


SECTIONS: dict[str, list[Screen]] = {
    "Batch operation (CSV)": [
        Screen("views/batch_upload.py", "Batch user registration/update", ":material/upload_file:"),
    ],
    "Users": [
        Screen("views/users.py", "Manage users", ":material/group:"),
        Screen("views/groups.py", "Groups", ":material/account_tree:"),
    ],
    "Settings": [
        Screen("views/input_fields.py", "Input field settings", ":material/tune:"),
        Screen("views/email_templates.py", "E-mail templates", ":material/mail:"),
        Screen("views/operators.py", "Operators", ":material/badge:", admin_only=True),
    ],
    "Background processing": [
        Screen("views/background.py", "Background processing", ":material/sync:"),
        Screen("views/outbox.py", "Outbox", ":material/outbox:"),
    ],
}


# Reachable without signing in: the page an invitation links to.
PUBLIC = [Screen("views/accept.py", "Set your password", ":material/key:")]


def all_screens() -> list[Screen]:
    return [screen for screens in SECTIONS.values() for screen in screens]


def gate(render: Callable[[], None], title: str) -> list[StreamlitPage]:
    """``render`` at the address of every screen (the first one is the default)."""
    return [
        st.Page(render, title=title, url_path=screen.url_path, default=index == 0)
        for index, screen in enumerate(all_screens())
    ] + [st.Page(screen.file, title=screen.title, url_path=screen.url_path) for screen in PUBLIC]


def screens_for(operator: OperatorInfo) -> dict[str, list[StreamlitPage]]:
    """The sections and screens this operator may open; the first screen is the default."""
    first = all_screens()[0]
    sections = {
        section: [
            st.Page(screen.file, title=screen.title, icon=screen.icon, default=screen == first)
            for screen in screens
            if operator.is_admin or not screen.admin_only
        ]
        for section, screens in SECTIONS.items()
    }
    hidden = [
        st.Page(screen.file, title=screen.title, url_path=screen.url_path, visibility="hidden")
        for screen in PUBLIC
    ]
    sections["Background processing"] += hidden
    return sections
