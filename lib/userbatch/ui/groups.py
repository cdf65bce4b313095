"""The Groups screen: the tree, and create, rename, move, delete."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from userbatch.directory.auth import OperatorInfo
from userbatch.directory.groups import (
    add_subgroup,
    child_path,
    delete_group,
    group_tree,
    move_group,
    organisation_name,
    rename_group,
)
from userbatch.i18n import _
from userbatch.ui import keys
from userbatch.ui.actions import act, show_notice
from userbatch.ui.context import AppContext, app_context
from userbatch.ui.session import current_operator


def render(app: AppContext, operator: OperatorInfo) -> None:
    st.title(_("Groups"))
    show_notice(keys.GROUPS_NOTICE)
    nodes = group_tree(app.engine, operator.scope_path)
    organisation = organisation_name(app.engine) or ""
    st.dataframe(
        pd.DataFrame(
            {
                _("Group"): [
                    "    " * node.depth + (node.name if node.path else organisation)
                    for node in nodes
                ],
                _("Path"): [node.path for node in nodes],
                _("Users"): [node.members for node in nodes],
                _("Subgroups"): [node.subgroups for node in nodes],
            }
        ),
        hide_index=True, width="stretch",
    )  # fmt: skip
    by_id = {node.id: node for node in nodes}

    def label(group_id: int) -> str:
        node = by_id[group_id]
        return node.path or _("{name} (whole organisation)", name=organisation)

    create, rename, move, delete = st.tabs([_("Create"), _("Rename"), _("Move"), _("Delete")])
    with create, st.form("create_group", clear_on_submit=True):
        parent = st.selectbox(
            _("Parent group"), list(by_id), format_func=label, key=keys.CREATE_PARENT
        )
        name = st.text_input(_("Group name"), max_chars=30, key=keys.CREATE_NAME,
                             help=_("At most 30 characters, without |, \\ or >>."))  # fmt: skip
        if st.form_submit_button(_("Create group"), type="primary"):
            # One name under the chosen parent: a '>>' in it is refused, never read as a path.
            act(
                lambda: add_subgroup(app.engine, parent, name, scope_path=operator.scope_path),
                _("Created {path}.", path=child_path(by_id[parent].path, name.strip())),
                notice=keys.GROUPS_NOTICE,
            )
    with rename, st.form("rename_group"):
        group = st.selectbox(_("Group"), list(by_id), format_func=label, key=keys.RENAME_GROUP)
        name = st.text_input(_("New name"), max_chars=30, key=keys.RENAME_NAME)
        if st.form_submit_button(_("Rename")):
            act(
                lambda: rename_group(app.engine, group, name, scope_path=operator.scope_path),
                _("Renamed."),
                notice=keys.GROUPS_NOTICE,
            )
    movable = [node.id for node in nodes if node.path and node.path != operator.scope_path]
    with move, st.form("move_group"):
        group = st.selectbox(_("Group"), movable, format_func=label, key=keys.MOVE_GROUP)
        parent = st.selectbox(
            _("New parent group"), list(by_id), format_func=label, key=keys.MOVE_PARENT
        )
        if st.form_submit_button(_("Move")):
            act(
                lambda: move_group(app.engine, group, parent, scope_path=operator.scope_path),
                _("Moved."),
                notice=keys.GROUPS_NOTICE,
            )
    with delete, st.form("delete_group"):
        group = st.selectbox(_("Group"), movable, format_func=label, key=keys.DELETE_GROUP)
        st.caption(_("Only an empty group can be deleted: no subgroups, no users, no operator."))
        if st.form_submit_button(_("Delete")):
            act(
                lambda: delete_group(app.engine, group, scope_path=operator.scope_path),
                _("Deleted."),
                notice=keys.GROUPS_NOTICE,
            )


# Streamlit runs this file as the Groups screen (app.py).
if __name__ == "__main__":
    _app = app_context()
    _operator = current_operator(_app)
    assert _operator is not None  # app.py lets only signed-in operators reach this screen
    render(_app, _operator)
