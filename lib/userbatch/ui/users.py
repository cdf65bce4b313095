"""The Manage users screen: search page by page, User download, Edit user's login ID."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from userbatch.admin.users import change_login_id, export_users, search_users, user_detail
from userbatch.directory.auth import OperatorInfo
from userbatch.directory.fields import STANDARD_LABELS, download_only_columns, load_columns
from userbatch.directory.groups import groups_in_scope
from userbatch.errors import UserbatchError
from userbatch.i18n import N_, Both, _
from userbatch.ui import demo, keys
from userbatch.ui.actions import act, show_notice
from userbatch.ui.context import AppContext, app_context
from userbatch.ui.session import current_operator
from userbatch.ui.text import inert

PAGE_SIZE = 50
# A status (a value kept as it is) -> its name for people, a message id; the names are those
# a user's status is listed by (``userbatch.check.rules.STATUSES``).
STATUS_OPTIONS = {
    "": N_("Any status"),
    "valid": N_("Valid"),
    "invalid": N_("Invalid"),
    "suspended": N_("Suspended"),
}


def _field(key: str) -> str:
    """A standard field's name in the reader's language, as the input field settings give it."""
    return str(Both(*STANDARD_LABELS[key]))


def render(app: AppContext, operator: OperatorInfo) -> None:
    st.title(_("Manage users"))
    show_notice(keys.USERS_NOTICE)
    demo.offer(app, operator)
    groups = {group.path: group for group in groups_in_scope(app.engine, operator.scope_path)}
    left, middle, right = st.columns([2, 2, 1])
    text = left.text_input(
        _("Search"), key=keys.USERS_SEARCH, placeholder=_("Login ID, name or e-mail")
    )
    group_path = middle.selectbox(
        _("Group"), list(groups), key=keys.USERS_GROUP,
        format_func=lambda path: path or _("Whole organisation"),
    )  # fmt: skip
    status = right.selectbox(
        _("Status"),
        list(STATUS_OPTIONS),
        format_func=lambda code: _(STATUS_OPTIONS[code]),
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
    st.caption(_("{count:,} user(s)", count=total))
    st.dataframe(
        pd.DataFrame(
            {
                _field("login_id"): [u.login_id for u in users],
                _field("name"): [u.name for u in users],
                _field("email"): [u.email for u in users],
                # The status's name (Valid …), the message id of its name in this language.
                _field("status"): [_(u.status) for u in users],
                _field("belong_to"): [u.groups for u in users],
            }
        ),
        hide_index=True, width="stretch",
    )  # fmt: skip
    pages = max(1, math.ceil(total / PAGE_SIZE))
    if pages > 1:
        st.pagination(pages, key=keys.USERS_PAGE)
    st.download_button(
        _("User download"),
        lambda: export_users(
            app.engine, load_columns(app.engine), scope_path=operator.scope_path,
            group_path=group_path or None,
        ),
        file_name="users.csv", mime="text/csv", key=keys.USER_DOWNLOAD,
        on_click="ignore",
        help=_("The users of the chosen group (and below) in the upload format, with First "
               "login and Creation date."),
    )  # fmt: skip
    if users:
        _open_user(app, operator, {u.id: f"{u.login_id} — {u.name}" for u in users})


def _open_user(app: AppContext, operator: OperatorInfo, users: dict[int, str]) -> None:
    user_id = st.selectbox(
        _("Open a user"), list(users), index=None, format_func=users.__getitem__,
        key=keys.OPEN_USER, placeholder=_("Choose a user of this page"),
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
    labels = [str(column.title) for column in columns if column.key in detail.values]
    labels += [str(column.title) for column in download_only_columns()]
    with st.container(border=True):
        st.dataframe(
            pd.DataFrame(
                {
                    _("Field"): labels,
                    _("Value"): [*detail.values.values(), detail.first_login, detail.created_at],
                }
            ),
            hide_index=True, width="stretch", key=keys.USER_DETAIL,
        )  # fmt: skip
        st.caption(
            _("Other fields change by CSV: User download, edit, upload. The login ID changes "
              "only here.")
        )  # fmt: skip
        with st.form("edit_user"):
            st.markdown(_("**Edit user**"))
            login_id = st.text_input(
                _field("login_id"), value=detail.values.get("login_id", ""),
                key=keys.edit_login_id(user_id), help=_("5–30 half-width characters; unique."),
            )  # fmt: skip
            if st.form_submit_button(_("Change login ID")):
                act(
                    lambda: change_login_id(
                        app.engine, user_id, login_id, scope_path=operator.scope_path
                    ),
                    _("The login ID is now '{login}'.", login=login_id.strip()),
                    notice=keys.USERS_NOTICE,
                )


# Streamlit runs this file as the Manage users screen (app.py).
if __name__ == "__main__":
    _app = app_context()
    _operator = current_operator(_app)
    assert _operator is not None  # app.py lets only signed-in operators reach this screen
    render(_app, _operator)
