"""The Operators screen (admins only): the list; add, change role and scope, reset a
password, disable and enable."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from userbatch.admin.operators import (
    OperatorRow,
    add_operator,
    change_role,
    list_operators,
    reset_password,
    set_disabled,
)
from userbatch.directory.auth import ROLES, OperatorInfo
from userbatch.directory.groups import groups_in_scope
from userbatch.errors import UserbatchError
from userbatch.i18n import N_, _
from userbatch.ui import keys
from userbatch.ui.actions import act, show_notice
from userbatch.ui.clock import time_column, zone_caption
from userbatch.ui.context import AppContext, app_context
from userbatch.ui.forms import differing_passwords, new_password
from userbatch.ui.session import current_operator
from userbatch.ui.text import inert

WHOLE = N_("Whole organisation")
SCOPE_HELP = N_("The group a manager manages, with its subgroups. Administrators have none.")


def render(app: AppContext, operator: OperatorInfo) -> None:
    st.title(_("Operators"))
    try:
        # The domain refuses a non-admin, so a manager who reaches this page sees only why.
        rows = list_operators(app.engine, operator)
    except UserbatchError as exc:
        st.error(inert(str(exc)))
        return
    show_notice(keys.OPERATORS_NOTICE)
    st.dataframe(
        pd.DataFrame(
            {
                "Login": [row.login for row in rows],
                "Role": [_(row.role) for row in rows],
                "Manages": [row.scope_path or _(WHOLE) for row in rows],
                "Status": [_("Disabled") if row.disabled else _("Enabled") for row in rows],
                "Locked": [row.locked for row in rows],
                "Last sign-in": [row.last_sign_in_at for row in rows],
                "Created": [row.created_at for row in rows],
            }
        ),
        hide_index=True, width="stretch",
        column_config={
            "Login": _("Login"), "Role": _("Role"), "Manages": _("Manages"),
            "Status": _("Status"), "Locked": _("Locked"),
            "Last sign-in": time_column(_("Last sign-in")),
            "Created": time_column(_("Created at")),
        },
    )  # fmt: skip
    st.caption(zone_caption())
    by_id = {row.id: row for row in rows}
    groups = [group.path for group in groups_in_scope(app.engine, "") if group.path]
    add, role, reset, disable = st.tabs(
        [_("Add"), _("Change role and scope"), _("Reset password"), _("Disable / enable")]
    )
    with add:
        _add_form(app, operator, groups)
    with role:
        _role_form(app, operator, by_id, groups)
    with reset:
        _reset_form(app, operator, by_id)
    with disable:
        _disable_form(app, operator, by_id)


def _add_form(app: AppContext, operator: OperatorInfo, groups: list[str]) -> None:
    with st.form("add_operator"):
        login = st.text_input(_("Login"), max_chars=64, key=keys.ADD_LOGIN, help=_("No spaces."))
        role = st.selectbox(_("Role"), ROLES, index=1, key=keys.ADD_ROLE, format_func=_)
        scope = st.selectbox(
            _("Group (managers only)"), groups, key=keys.ADD_SCOPE, help=_(SCOPE_HELP)
        )
        if not groups:
            st.caption(_("There are no groups yet; create one on the Groups screen for a manager."))
        password = new_password(
            _("Password"), key=keys.ADD_PASSWORD, min_length=app.settings.password_min_length
        )
        if not st.form_submit_button(_("Add operator"), type="primary", key=keys.ADD_SUBMIT):
            return
    if password is None:
        differing_passwords()
        return
    act(
        lambda: add_operator(
            app.engine, operator, login=login, password=password, role=role,
            scope_path=_scope(role, scope), min_password_length=app.settings.password_min_length,
        ),
        _("Added {role} '{login}'.", role=_(role), login=login.strip()),
        notice=keys.OPERATORS_NOTICE,
        forget=[keys.ADD_LOGIN, *keys.password_fields(keys.ADD_PASSWORD)],
    )  # fmt: skip


def _role_form(
    app: AppContext, operator: OperatorInfo, by_id: dict[int, OperatorRow], groups: list[str]
) -> None:
    with st.form("change_role"):
        target = _pick(by_id, key=keys.ROLE_OPERATOR)
        role = st.selectbox(_("New role"), ROLES, index=1, key=keys.ROLE_ROLE, format_func=_)
        scope = st.selectbox(
            _("Group (managers only)"), groups, key=keys.ROLE_SCOPE, help=_(SCOPE_HELP)
        )
        if not st.form_submit_button(_("Change role and scope"), key=keys.ROLE_SUBMIT):
            return
    act(
        lambda: change_role(
            app.engine, operator, operator_id=target, role=role, scope_path=_scope(role, scope)
        ),
        _describe(by_id[target].login, role, _scope(role, scope)),
        notice=keys.OPERATORS_NOTICE,
    )


def _reset_form(app: AppContext, operator: OperatorInfo, by_id: dict[int, OperatorRow]) -> None:
    with st.form("reset_password"):
        target = _pick(by_id, key=keys.RESET_OPERATOR)
        password = new_password(
            _("New password"), key=keys.RESET_PASSWORD,
            min_length=app.settings.password_min_length,
        )  # fmt: skip
        st.caption(_("Tell the operator the new password yourself; it is not shown or sent."))
        if not st.form_submit_button(_("Reset password"), key=keys.RESET_SUBMIT):
            return
    if password is None:
        differing_passwords()
        return
    act(
        lambda: reset_password(
            app.engine, operator, operator_id=target, password=password,
            min_password_length=app.settings.password_min_length,
        ),
        _("The password of '{login}' is reset; a lock after wrong passwords is lifted.",
          login=by_id[target].login),
        notice=keys.OPERATORS_NOTICE, forget=keys.password_fields(keys.RESET_PASSWORD),
    )  # fmt: skip


def _disable_form(app: AppContext, operator: OperatorInfo, by_id: dict[int, OperatorRow]) -> None:
    with st.form("disable_operator"):
        target = _pick(by_id, key=keys.DISABLE_OPERATOR)
        st.caption(_("A disabled operator cannot sign in, and is signed out at their next click."))
        left, right = st.columns(2)
        disable = left.form_submit_button(_("Disable"), key=keys.DISABLE)
        enable = right.form_submit_button(_("Enable"), key=keys.ENABLE)
    if disable or enable:
        login = by_id[target].login
        act(
            lambda: set_disabled(app.engine, operator, operator_id=target, disabled=disable),
            _("'{login}' is disabled.", login=login)
            if disable
            else _("'{login}' is enabled.", login=login),
            notice=keys.OPERATORS_NOTICE,
        )


def _pick(by_id: dict[int, OperatorRow], *, key: str) -> int:
    """An operator select box; returns the chosen operator's id."""
    chosen: int = st.selectbox(
        _("Operator"),
        list(by_id),
        key=key,
        format_func=lambda operator_id: _label(by_id[operator_id]),
    )
    return chosen


def _label(row: OperatorRow) -> str:
    return _("{login} (disabled)", login=row.login) if row.disabled else row.login


def _scope(role: str, group: str | None) -> str:
    """What the form's group means for ``role``: an admin manages no one group."""
    return (group or "") if role == "manager" else ""


def _describe(login: str, role: str, scope_path: str) -> str:
    if role == "manager":
        return _("'{login}' is now a manager of {group}.", login=login, group=scope_path)
    return _("'{login}' is now an administrator.", login=login)


# Streamlit runs this file as the Operators screen (app.py).
if __name__ == "__main__":
    _app = app_context()
    _operator = current_operator(_app)
    assert _operator is not None  # app.py lets only signed-in operators reach this screen
    render(_app, _operator)
