"""The batch screen's choices of how the file is applied: what a blank cell does to an
existing user's value, and whether the file lists every user of the working group (who it
leaves out are suspended); and the list of those users."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from userbatch.batches.drafts import set_options
from userbatch.check.run import rejudge
from userbatch.check.state import BLANK_CLEAR, BLANK_KEEP
from userbatch.i18n import N_, _
from userbatch.ui import keys
from userbatch.ui.batch.state import Checked
from userbatch.ui.batch.upload import group_name
from userbatch.ui.context import AppContext
from userbatch.ui.text import inert

BLANK_LABELS = {BLANK_KEEP: N_("Keep the current value"), BLANK_CLEAR: N_("Clear the value")}


def arrive(state: Checked) -> None:
    """Set the choices' widgets to the draft's, as it was left."""
    st.session_state[keys.BLANK_CELLS] = state.result.options.blank
    st.session_state[keys.COMPLETE_LIST] = state.result.options.complete


def choices(app: AppContext, state: Checked) -> None:
    """The two choices; a change checks the file again with it and saves it to the draft."""
    options = state.result.options
    left, right = st.columns(2)
    blank = left.radio(
        _("Blank cells, for users who exist already"), list(BLANK_LABELS), horizontal=True,
        format_func=lambda choice: _(BLANK_LABELS[choice]), key=keys.BLANK_CELLS,
        help=_("Keep: a blank cell leaves the user's value as it is, so a file may fill in "
               "only the columns to change. Clear: a blank cell empties the value. Status, "
               "Password and Belong to are always kept when blank."),
    )  # fmt: skip
    complete = right.checkbox(
        _("This file lists every user of {group}", group=inert(group_name(options.working_group))),
        key=keys.COMPLETE_LIST,
        help=_("Users of the working group and below (within your groups) who are not in the "
               "file are suspended — never deleted. A suspended user listed again stays "
               "suspended unless their Status says Valid."),
    )  # fmt: skip
    if (blank, complete) != (options.blank, options.complete):
        with st.spinner(_("Checking every row again…")):
            state.result = rejudge(app.engine, state.result, blank=blank, complete=complete)
        set_options(app.engine, state.draft_id, state.result)


def suspended(state: Checked) -> None:
    """A complete list's users who are not in the file: they will be suspended."""
    missing = state.result.missing
    if state.result.roster is None:
        return
    if missing.empty:
        st.caption(_("Every user of the working group is in the file: nobody will be suspended."))
        return
    with st.expander(_("Not in the file: {count:,} user(s) will be suspended", count=len(missing))):
        table = pd.DataFrame({_("Key"): missing["key"], _("Name"): missing["name"]})
        st.dataframe(table, hide_index=True, width="stretch")
