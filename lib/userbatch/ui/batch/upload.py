"""The batch screen before a file is checked: templates, the column guide, the upload; a
file that cannot be checked, with the encoding to try instead."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import streamlit as st

from userbatch.admin.users import export_users
from userbatch.batches.drafts import DraftFile
from userbatch.batches.store import new_batch_id
from userbatch.directory.auth import OperatorInfo
from userbatch.directory.fields import DOWNLOAD_ONLY_LABELS, ColumnSpec, load_columns
from userbatch.directory.groups import GroupInfo
from userbatch.files.decode import ENCODINGS
from userbatch.files.download import write_table
from userbatch.i18n import Both, Listing, _
from userbatch.ui import demo, keys
from userbatch.ui.batch import checking
from userbatch.ui.batch.state import Refused, reset
from userbatch.ui.context import AppContext
from userbatch.ui.text import inert


def start(app: AppContext, operator: OperatorInfo, working: GroupInfo) -> None:
    """No file yet: the templates to download and the uploader."""
    demo.offer(app, operator)
    st.write(
        _("Register and update many users at once. Download the CSV, fill it in (Excel is "
          "fine), then upload it here and check it. **Nothing is saved until you execute.**")
    )  # fmt: skip
    columns = load_columns(app.engine)
    # The template's header in the operator's language: the check accepts either label.
    header = [str(column.title) for column in columns]
    left, middle, right = st.columns(3)
    left.download_button(
        _("Download CSV"), write_table(header, [], encoding="utf-8-sig"),
        file_name="users_template.csv", mime="text/csv", icon=":material/download:",
        help=_("The header row for your input field settings, UTF-8 (opens correctly in "
               "Excel)."),
        key=keys.TEMPLATE_UTF8, on_click="ignore",
    )  # fmt: skip
    middle.download_button(
        _("Download CSV (Shift_JIS)"), write_table(header, [], encoding="cp932"),
        file_name="users_template_sjis.csv", mime="text/csv",
        help=_("The same template in Shift_JIS, for older Excel in Japan."),
        key=keys.TEMPLATE_SJIS, on_click="ignore",
    )  # fmt: skip
    right.download_button(
        _("Download current users"), lambda: export_users(
            app.engine, columns, scope_path=operator.scope_path
        ),
        file_name="users.csv", mime="text/csv",
        help=_("To update users: download them, edit the cells to change, upload the file."),
        key=keys.CURRENT_USERS, on_click="ignore",
    )  # fmt: skip
    with st.expander(_("What goes in each column")):
        _column_help(columns, app.settings.password_min_length)
    group = inert(group_name(working))
    st.caption(
        _("New users with a blank 'Belong to' join the working group: **{group}**.", group=group)
    )
    file = st.file_uploader(
        _("Drag and drop the edited file here, or choose it"),
        type=["csv", "txt", "tsv", "xlsx"], key=keys.BATCH_FILE,
    )  # fmt: skip
    pressed = st.button(
        _("Upload and check"), type="primary", disabled=file is None, key=keys.UPLOAD_AND_CHECK
    )
    if pressed and file is not None:
        source = DraftFile(file_name=file.name, data=file.getvalue(), batch_id=new_batch_id())
        checking.checkings().begin(app, operator, working, source)
        st.rerun()


def _column_help(columns: list[ColumnSpec], min_length: int) -> None:
    rows = [
        {
            _("Column"): str(column.title),
            _("Also accepted"): " / ".join(
                label for label in column.labels if label != str(column.title)
            ),
            _("Required"): _("Yes") if column.required else "",
            _("What it accepts"): str(column.rule(min_password_length=min_length)),
        }
        for column in columns
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    ignored = Listing([Both(*labels) for labels in DOWNLOAD_ONLY_LABELS.values()])
    st.caption(
        _("{ignored} appear in downloads and are ignored on upload, as are the Result and "
          "Message columns of the error and results downloads (fix those files and upload "
          "them again). Headers match whatever their case; cells are trimmed. Encodings: "
          "UTF-8, Shift_JIS and UTF-16 are detected, and Excel workbooks (.xlsx) are read "
          "from their first sheet.", ignored=ignored)
    )  # fmt: skip


def group_name(group: GroupInfo) -> str:
    return _("the whole organisation") if group.is_root else group.path


def refused(app: AppContext, operator: OperatorInfo, working: GroupInfo, state: Refused) -> None:
    """A file that cannot be checked: the problems, another encoding to try, re-upload."""
    source = state.source
    st.error(_("**{name}** cannot be checked:", name=inert(source.file_name)))
    for code, message in state.error.problems:
        st.error(f"{inert(message)} `{code}`")
    if state.error.code == "unreadable":
        choice = encoding_picker(source, state.version, _("Read the file as"))
        if choice is not None:
            checking.checkings().begin(
                app, operator, working, replace(source, encoding=choice), state.version
            )
            st.rerun()
    st.button(_("Re-upload"), on_click=reset, type="primary", key=keys.REUPLOAD_AFTER_ERROR)


def encoding_picker(
    source: DraftFile, version: int, label: str, detected: str | None = None
) -> str | None:
    """The encoding to read ``source`` as, when the operator picks another one."""
    options = [name for name in ENCODINGS if name != "xlsx"]
    current = source.encoding or detected
    chosen = st.selectbox(
        label, options, index=options.index(current) if current in options else None,
        format_func=lambda name: _(ENCODINGS[name]), placeholder=_("Choose an encoding"),
        key=keys.encoding(version),
    )  # fmt: skip
    return chosen if chosen != current else None
