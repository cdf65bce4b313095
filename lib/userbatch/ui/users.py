"""The Manage users screen: search page by page, User download, Edit user's login ID."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from userbatch.admin.users import change_login_id, export_users, search_users, user_detail
from userbatch.directory.auth import OperatorInfo
from userbatch.directory.fields import load_columns
from userbatch.directory.groups import groups_in_scope
from userbatch.errors import UserbatchError
from userbatch.ui import demo, keys
from userbatch.ui.actions import act, show_notice
from userbatch.ui.context import AppContext, app_context
from userbatch.ui.session import current_operator
from userbatch.ui.text import inert

PAGE_SIZE = 50
STATUS_OPTIONS = {
    "": "Any status",
    "valid": "Valid",
    "invalid": "Invalid",
    "suspended": "Suspended",
}


def render(app: AppContext, operator: OperatorInfo) -> None:
    st.title("Manage users")
    show_notice(keys.USERS_NOTICE)
    demo.offer(app, operator)
    groups = {group.path: group for group in groups_in_scope(app.engine, operator.scope_path)}
    left, middle, right = st.columns([2, 2, 1])
    text = left.text_input("Search", key=keys.USERS_SEARCH, placeholder="Login ID, name or e-mail")
    group_path = middle.selectbox(
        "Group", list(groups), key=keys.USERS_GROUP,
        format_func=lambda path: path or "Whole organisation",
    )  # fmt: skip
    status = right.selectbox(
        "Status",
        list(STATUS_OPTIONS),
        format_func=STATUS_OPTIONS.__getitem__,
        key=keys.USERS_STATUS,
    )
    page = st.session_state.get(keys.USERS_PAGE, 1)
    try:
        users, total = search_users(
            app.engine, scope_path=operator.scope_path, text=text,
            group_path=group_path if group_path != operator.scope_path else None,
            status=status or None, page=page, page_size=PAGE_SIZE,
        )  # fmt: skip
    except UserbatchError as exc:
        st.error(inert(str(exc)))
        return
    st.caption(f"{total:,} user(s)")
    st.dataframe(
        pd.DataFrame(
            {
                "Login ID": [u.login_id for u in users],
                "Name": [u.name for u in users],
                "Email": [u.email for u in users],
                "Status": [u.status for u in users],
                "Belong to": [u.groups for u in users],
            }
        ),
        hide_index=True, width="stretch",
    )  # fmt: skip
    pages = max(1, math.ceil(total / PAGE_SIZE))
    if pages > 1:
        st.pagination(pages, key=keys.USERS_PAGE)
    st.download_button(
        "User download",
        lambda: export_users(
            app.engine, load_columns(app.engine), scope_path=operator.scope_path,
            group_path=group_path or None,
        ),
        file_name="users.csv", mime="text/csv", key=keys.USER_DOWNLOAD,
        help="The users of the chosen group (and below) in the upload format, with First "
        "login and Creation date.",
    )  # fmt: skip
    if users:
        _open_user(app, operator, {u.id: f"{u.login_id} — {u.name}" for u in users})


def _open_user(app: AppContext, operator: OperatorInfo, users: dict[int, str]) -> None:
    user_id = st.selectbox(
        "Open a user", list(users), index=None, format_func=users.__getitem__, key=keys.OPEN_USER,
        placeholder="Choose a user of this page",
    )  # fmt: skip
    if user_id is None:
        return
    columns = load_columns(app.engine)
    try:
        detail = user_detail(app.engine, user_id, columns, scope_path=operator.scope_path)
    except UserbatchError as exc:
        st.error(inert(str(exc)))
        return
    # The fields under the labels of the input field settings, as in the User download.
    labels = [column.label for column in columns if column.key in detail.values]
    with st.container(border=True):
        st.dataframe(
            pd.DataFrame(
                {
                    "Field": [*labels, "First login", "Creation date"],
                    "Value": [*detail.values.values(), detail.first_login, detail.created_at],
                }
            ),
            hide_index=True, width="stretch", key=keys.USER_DETAIL,
        )  # fmt: skip
        st.caption(
            "Other fields change by CSV: User download, edit, upload. The login ID changes "
            "only here."
        )
        with st.form("edit_user"):
            st.markdown("**Edit user**")
            login_id = st.text_input(
                "Login ID", value=detail.values.get("login_id", ""),
                key=keys.edit_login_id(user_id), help="5–30 half-width characters; unique.",
            )  # fmt: skip
            if st.form_submit_button("Change login ID"):
                act(
                    lambda: change_login_id(
                        app.engine, user_id, login_id, scope_path=operator.scope_path
                    ),
                    f"The login ID is now '{login_id.strip()}'.",
                    notice=keys.USERS_NOTICE,
                )


# Streamlit runs this file as the Manage users screen (app.py).
if __name__ == "__main__":
    _app = app_context()
    _operator = current_operator(_app)
    assert _operator is not None  # app.py lets only signed-in operators reach this screen
    render(_app, _operator)
