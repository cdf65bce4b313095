"""The sidebar of every page: the operator, the working group, background jobs."""

from __future__ import annotations

import streamlit as st

from userbatch.admin.operators import own_notices, set_own_notices
from userbatch.directory.auth import OperatorInfo
from userbatch.directory.groups import GroupInfo, groups_in_scope, organisation_name
from userbatch.errors import UserbatchError
from userbatch.i18n import _
from userbatch.ui import jobs_panel, keys, language, tokens
from userbatch.ui.context import AppContext
from userbatch.ui.session import sign_out
from userbatch.ui.text import inert


def group_label(group: GroupInfo, organisation: str) -> str:
    """How a group is shown: its path, or the organisation's name for the root."""
    return _("{name} (whole organisation)", name=organisation) if group.is_root else group.path


def working_group_selector(app: AppContext, operator: OperatorInfo) -> GroupInfo:
    """The working group picker; a manager can only pick inside their subtree."""
    groups = groups_in_scope(app.engine, operator.scope_path)
    organisation = organisation_name(app.engine) or ""
    by_id = {group.id: group for group in groups}
    pending = st.session_state.pop(keys.PENDING_GROUP, None)
    if pending in by_id:
        st.session_state[keys.WORKING_GROUP] = pending
    if st.session_state.get(keys.WORKING_GROUP) not in by_id:
        st.session_state[keys.WORKING_GROUP] = groups[0].id
    chosen = st.sidebar.selectbox(
        _("Working group"),
        options=list(by_id),
        format_func=lambda group_id: group_label(by_id[group_id], organisation),
        key=keys.WORKING_GROUP,
        help=_("New users with a blank 'Belong to' join this group."),
    )
    return by_id[chosen]


def render(app: AppContext, operator: OperatorInfo) -> GroupInfo:
    """Draw the sidebar; returns the working group."""
    st.sidebar.write(
        _("Signed in as **{login}** ({role})", login=inert(operator.login), role=_(operator.role))
    )
    left, right = st.sidebar.columns(2)
    if left.button(_("Sign out"), key=keys.SIGN_OUT):
        sign_out(app)
        st.rerun()
    if right.button(
        _("Sign out everywhere"), key=keys.SIGN_OUT_EVERYWHERE,
        help=_("Ends your sign-in in every browser and tab, here and on other machines."),
    ):  # fmt: skip
        sign_out(app, everywhere=True)
        st.rerun()
    with st.sidebar.popover(_("Your notices"), icon=":material/notifications:"):
        _notices(app, operator)
    with st.sidebar.popover(_("API tokens"), icon=":material/key:"):
        tokens.popover(app, operator)
    group = working_group_selector(app, operator)
    st.session_state[keys.CURRENT_GROUP] = group
    language.switch(app, operator)
    with st.sidebar:
        jobs_panel.panel(app, operator)
    return group


def _notices(app: AppContext, operator: OperatorInfo) -> None:
    """Where the operator hears that their batches ended (through the Outbox)."""
    current = own_notices(app.engine, operator)
    with st.form("notices", border=False):
        email = st.text_input(_("Your e-mail address"), value=current.email, key=keys.NOTICE_EMAIL)
        notify = st.checkbox(
            _("E-mail me when my batches and undos end"), value=current.notify,
            key=keys.NOTICE_ON, help=_("With their counts and a link to their detail."),
        )  # fmt: skip
        if not st.form_submit_button(_("Save"), key=keys.NOTICE_SAVE):
            return
    try:
        saved = set_own_notices(app.engine, operator, email=email, notify=notify)
    except UserbatchError as exc:
        st.error(inert(str(exc)))
        return
    st.success(_("Saved.") if saved.email and saved.notify else _("Saved: you get no notices."))


def current_working_group() -> GroupInfo:
    """The working group the sidebar drew on this run."""
    group: GroupInfo = st.session_state[keys.CURRENT_GROUP]
    return group
