"""The "Batch user registration/update" screen: upload and check, fix in the grid, execute.

The checked file lives in ``st.session_state`` as an ``Upload`` holding the ``CheckResult``;
the run after an edit or a deletion in the grid puts it straight into the check through the
incremental re-check and draws a fresh grid, so nothing is lost when the operator opens
another screen and comes back. The grid shows
one page of rows at a time. Streamlit styles only read-only columns, so each column that has
a bad cell on the page gets a narrow read-only marker column beside it: ✖ for an error, !
for a warning, next to the very cell.
"""

from __future__ import annotations

import datetime as dt
import math
import zoneinfo
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd
import streamlit as st

from userbatch.admin.users import export_users
from userbatch.batches.store import Invitation, invited_rows, new_batch_id, preview_invitation
from userbatch.check.checker import CheckResult, RowResult, check_file, check_sheet
from userbatch.directory.auth import OperatorInfo
from userbatch.directory.fields import DOWNLOAD_ONLY_LABELS, ColumnSpec, load_columns
from userbatch.directory.groups import GroupInfo
from userbatch.errors import CsvFileError, UserbatchError
from userbatch.files.csvfile import DELIMITERS, ENCODINGS, download_encoding, write_table
from userbatch.mail.templates import list_templates, save_template
from userbatch.ui import demo
from userbatch.ui.clock import browser_zone_name
from userbatch.ui.context import AppContext
from userbatch.ui.text import inert
from userbatch.worker.submit import submit_batch

KEY = "batch_upload"
ONLY_ERRORS = "batch_only_errors"
PAGE = "batch_page"
EXECUTING = "batch_executing"
PAGE_SIZE = 50
STATUS_LABELS = {"new": "New", "update": "Update", "unchanged": "Unchanged", "error": "Error"}
STATUS_COLOURS = {"new": "#1b7f3b", "update": "#1f5fbf", "unchanged": "#6b6b6b", "error": "#c62828"}
ERROR_MARK, WARNING_MARK = "✖", "!"


@dataclass
class Upload:
    """One uploaded file on its way through the screen."""

    file_name: str
    data: bytes
    encoding: str | None = None  # chosen by the operator; None: detected
    delimiter: str | None = None
    result: CheckResult | None = None
    error: CsvFileError | None = None
    grid_version: int = 0
    changes: int = 0  # cells edited and rows deleted in the grid, which leaving discards
    # The grid drawn last: its widget key and the spreadsheet rows it showed, in order.
    grid_key: str = ""
    grid_rows: list[int] = field(default_factory=list)
    batch_id: str | None = None  # stored in the database
    stored: str | None = None  # the batch id once stored and queued


def render(app: AppContext, operator: OperatorInfo, working: GroupInfo) -> None:
    st.title("Batch user registration/update")
    upload: Upload | None = st.session_state.get(KEY)
    if upload is None:
        _start(app, operator, working)
    elif upload.stored:
        _stored(upload)
    elif upload.error is not None:
        _file_error(app, operator, working, upload)
    else:
        assert upload.result is not None
        if upload.result.options.working_group != working:
            # The sidebar's group changed: blank "Belong to" now means another group.
            options = replace(upload.result.options, working_group=working)
            upload.result = check_sheet(app.engine, upload.result.sheet, options)
        _results(app, operator, upload)


# -- before the upload -----------------------------------------------------------------------


def _start(app: AppContext, operator: OperatorInfo, working: GroupInfo) -> None:
    demo.offer(app, operator)
    st.write(
        "Register and update many users at once. Download the CSV, fill it in (Excel is "
        "fine), then upload it here and check it. **Nothing is saved until you execute.**"
    )
    columns = load_columns(app.engine)
    header = [column.label for column in columns]
    left, middle, right = st.columns(3)
    left.download_button(
        "Download CSV", write_table(header, [], encoding="utf-8-sig"),
        file_name="users_template.csv", mime="text/csv", icon=":material/download:",
        help="The header row for your input field settings, UTF-8 (opens correctly in Excel).",
    )  # fmt: skip
    middle.download_button(
        "Download CSV (Shift_JIS)", write_table(header, [], encoding="cp932"),
        file_name="users_template_sjis.csv", mime="text/csv",
        help="The same template in Shift_JIS, for older Excel in Japan.",
    )  # fmt: skip
    right.download_button(
        "Download current users", lambda: export_users(
            app.engine, columns, scope_path=operator.scope_path
        ),
        file_name="users.csv", mime="text/csv",
        help="To update users: download them, edit the cells to change, upload the file.",
    )  # fmt: skip
    with st.expander("What goes in each column"):
        _column_help(columns, app.settings.password_min_length)
    group = inert(_group_name(working))
    st.caption(f"New users with a blank 'Belong to' join the working group: **{group}**.")
    file = st.file_uploader(
        "Drag and drop the edited file here, or choose it", type=["csv", "txt", "tsv", "xlsx"],
        key="batch_file",
    )  # fmt: skip
    if st.button("Upload and check", type="primary", disabled=file is None, key="upload_and_check"):
        assert file is not None
        upload = Upload(file_name=file.name, data=file.getvalue())
        with st.spinner("Checking every row…"):
            _check(app, operator, working, upload)
        st.session_state[KEY] = upload
        st.rerun()


def _column_help(columns: list[ColumnSpec], min_length: int) -> None:
    rows = [
        {
            "Column": column.label,
            "Also accepted": column.japanese or "",
            "Required": "Yes" if column.required else "",
            "What it accepts": column.rule(min_password_length=min_length),
        }
        for column in columns
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    ignored = " and ".join(english for english, _ in DOWNLOAD_ONLY_LABELS.values())
    st.caption(
        f"{ignored} appear in downloads and are ignored on upload, as are the Result and Message "
        "columns of the error and results downloads (fix those files and upload them again). "
        "Headers match whatever their "
        "case; cells are trimmed. Encodings: UTF-8, Shift_JIS and UTF-16 are detected, and "
        "Excel workbooks (.xlsx) are read from their first sheet."
    )


def _group_name(group: GroupInfo) -> str:
    return "the whole organisation" if group.is_root else group.path


def _check(app: AppContext, operator: OperatorInfo, working: GroupInfo, upload: Upload) -> None:
    try:
        upload.result = check_file(
            app.engine, app.settings, upload.data, file_name=upload.file_name,
            working_group=working, scope_path=operator.scope_path,
            encoding=upload.encoding, delimiter=upload.delimiter,
        )  # fmt: skip
        upload.error = None
    except CsvFileError as error:
        upload.result, upload.error = None, error


def _reset() -> None:
    for key in (KEY, ONLY_ERRORS, PAGE, EXECUTING, "batch_file"):
        st.session_state.pop(key, None)


# -- a file that cannot be checked -----------------------------------------------------------


def _file_error(
    app: AppContext, operator: OperatorInfo, working: GroupInfo, upload: Upload
) -> None:
    assert upload.error is not None
    st.error(f"**{inert(upload.file_name)}** cannot be checked:")
    for code, message in upload.error.problems:
        st.error(f"{inert(message)} `{code}`")
    if upload.error.code == "unreadable":
        choice = _encoding_picker(upload, "Read the file as")
        if choice is not None:
            upload.encoding = choice
            _check(app, operator, working, upload)
            st.rerun()
    st.button("Re-upload", on_click=_reset, type="primary", key="reupload_after_error")


def _encoding_picker(upload: Upload, label: str, detected: str | None = None) -> str | None:
    options = [name for name in ENCODINGS if name != "xlsx"]
    current = upload.encoding or detected
    chosen = st.selectbox(
        label, options, index=options.index(current) if current in options else None,
        format_func=lambda name: ENCODINGS[name], placeholder="Choose an encoding",
        key=f"encoding-{upload.grid_version}",
    )  # fmt: skip
    return chosen if chosen != current else None


# -- the checked file ------------------------------------------------------------------------


def _results(app: AppContext, operator: OperatorInfo, upload: Upload) -> None:
    _take_edits(upload)
    result = upload.result
    assert result is not None
    sheet = result.sheet
    _how_it_was_read(app, operator, upload)
    for notice in sheet.notices:
        st.info(inert(notice))
    counts = result.counts
    for column, (status, label) in zip(st.columns(4), STATUS_LABELS.items(), strict=True):
        column.metric(label, f"{counts[status]:,}")
    only_errors = st.checkbox("Show only errors", key=ONLY_ERRORS, disabled=not counts["error"])
    shown = result.numbers("error" if only_errors else None)
    pages = max(1, math.ceil(len(shown) / PAGE_SIZE))
    page = st.pagination(pages, key=PAGE) if pages > 1 else 1
    page = min(page, pages)
    rows = [result.rows[number] for number in shown[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]]
    _grid(upload, rows)
    _problem_list(rows)
    st.caption(
        "Edit a cell to fix it (double-click, type, Enter): the row is checked again at once. "
        "To delete rows, tick them on the left and press Delete."
    )
    _actions(app, operator, upload)


def _how_it_was_read(app: AppContext, operator: OperatorInfo, upload: Upload) -> None:
    result = upload.result
    assert result is not None
    sheet = result.sheet
    st.markdown(
        f"**{inert(sheet.file_name)}** · {sheet.rows:,} rows · working group "
        f"**{inert(_group_name(result.options.working_group))}**"
    )
    if sheet.encoding == "xlsx":
        st.caption("Read as an Excel workbook (first sheet).")
        return
    left, right = st.columns(2)
    with left:
        encoding = _encoding_picker(upload, "Encoding (detected)", sheet.encoding)
    with right:
        delimiters = list(DELIMITERS)
        delimiter = st.selectbox(
            "Delimiter (detected)", delimiters, index=delimiters.index(sheet.delimiter),
            format_func=lambda d: DELIMITERS[d].capitalize(),
            key=f"delimiter-{upload.grid_version}",
        )  # fmt: skip
    if encoding is not None or delimiter != sheet.delimiter:
        upload.encoding = encoding or sheet.encoding
        upload.delimiter = delimiter
        upload.grid_version += 1
        _check(app, operator, result.options.working_group, upload)
        st.rerun()


def _grid(upload: Upload, rows: list[RowResult]) -> None:
    result = upload.result
    assert result is not None
    sheet = result.sheet
    if not rows:
        st.success("No rows to show.")
        return
    numbers = [row.row for row in rows]
    marks: dict[str, dict[int, str]] = {}
    for row in rows:
        for issue in row.issues:
            if issue.field:
                mark = ERROR_MARK if issue.level == "error" else WARNING_MARK
                cell = marks.setdefault(issue.field, {})
                if cell.get(row.row) != ERROR_MARK:
                    cell[row.row] = mark
    frame = pd.DataFrame({"Row": numbers, "Status": [STATUS_LABELS[row.status] for row in rows]})
    config: dict[str, Any] = {
        "Row": st.column_config.NumberColumn("Row", width=60, format="%d"),
        "Status": st.column_config.TextColumn("Status", width=90),
        "Problems": st.column_config.TextColumn("Problems", width="large"),
        "Changes": st.column_config.TextColumn("Changes (old → new)", width="medium"),
    }
    cells = sheet.cells.loc[numbers]
    for column, label in zip(sheet.columns, sheet.labels, strict=True):
        frame[f"cell:{column.key}"] = cells[column.key].tolist()
        config[f"cell:{column.key}"] = st.column_config.TextColumn(label)
        if column.key in marks:
            frame[f"mark:{column.key}"] = [marks[column.key].get(n, "") for n in numbers]
            config[f"mark:{column.key}"] = st.column_config.TextColumn(
                "⚠", width=36, help=f"✖ this {inert(label)} cell has an error; ! a warning"
            )
    # The whole messages are listed under the grid too; here they follow the cells.
    frame["Problems"] = [_problems(row) for row in rows]
    if any(row.changes for row in rows):
        frame["Changes"] = [
            "; ".join(
                f"{label}: {old or '(blank)'} → {new or '(blank)'}"
                for label, (old, new) in row.changes.items()
            )
            for row in rows
        ]
    read_only = [name for name in frame.columns if not name.startswith("cell:")]
    styled = frame.style.map(
        _mark_style, subset=[n for n in frame.columns if n.startswith("mark:")]
    )
    styled = styled.apply(
        lambda column: [f"color: {STATUS_COLOURS[row.status]}; font-weight: 600" for row in rows],
        subset=["Status"],
    )
    upload.grid_key, upload.grid_rows = f"grid-{upload.grid_version}-{numbers[0]}", numbers
    st.data_editor(
        styled, key=upload.grid_key, hide_index=True, disabled=read_only, num_rows="delete",
        column_config=config, width="stretch",
    )  # fmt: skip


def _problem_list(rows: list[RowResult]) -> None:
    """The whole messages of the rows on the page (the grid's column cuts long ones)."""
    lines = [
        f"- **Row {row.row}**" + (f", {inert(issue.column)}" if issue.column else "")
        + (" (warning)" if issue.level == "warning" else "") + f": {inert(issue.message)}"
        for row in rows
        for issue in row.issues
    ]  # fmt: skip
    if lines:
        with st.expander(f"Problems on this page ({len(lines)})", expanded=len(lines) <= 10):
            st.markdown("\n".join(lines))


def _problems(row: RowResult) -> str:
    return " · ".join(
        ("⚠ " if issue.level == "warning" else "") + issue.message for issue in row.issues
    )


def _mark_style(value: str) -> str:
    if value == ERROR_MARK:
        return "background-color: #fdecea; color: #c62828; font-weight: 700"
    if value == WARNING_MARK:
        return "background-color: #fff4e5; color: #b26a00; font-weight: 700"
    return ""


def _take_edits(upload: Upload) -> None:
    """Put the last grid's edits and deletions into the check (the incremental re-check)."""
    state = st.session_state.get(upload.grid_key) if upload.grid_key else None
    if not state or upload.result is None:
        return
    numbers = upload.grid_rows
    edits: dict[int, dict[str, str]] = {}
    for position, changes in state.get("edited_rows", {}).items():
        for name, value in changes.items():
            if name.startswith("cell:"):
                edits.setdefault(numbers[int(position)], {})[name.removeprefix("cell:")] = (
                    "" if value is None else str(value)
                )
    deleted = [numbers[int(position)] for position in state.get("deleted_rows", [])]
    if edits or deleted:
        upload.changes += sum(map(len, edits.values())) + len(deleted)
        upload.result.recheck(edits, deleted)
        del st.session_state[upload.grid_key]
        upload.grid_version += 1


def _actions(app: AppContext, operator: OperatorInfo, upload: Upload) -> None:
    result = upload.result
    assert result is not None
    counts = result.counts
    left, middle, right = st.columns(3)
    left.download_button(
        "Download rows with errors", lambda: _error_file(result),
        file_name=f"errors_{result.sheet.file_name.rsplit('.', 1)[0]}.csv", mime="text/csv",
        disabled=not counts["error"], key="download_errors",
        help="The rows with errors as you uploaded them (with your edits), plus a Message column.",
    )  # fmt: skip
    _leave(middle, "Re-upload", "reupload", upload)
    _leave(right, "Back to batch user registration/update", "back", upload)
    runnable = counts["new"] + counts["update"]
    if counts["error"]:
        st.warning(
            f"{counts['error']:,} row(s) still have errors. Fix them in the grid, delete them, "
            "or download them and upload a corrected file."
        )
    elif not runnable:
        st.info(
            "Nothing to register or update: every row is Unchanged (it matches the user as stored)."
        )
    if st.button(
        "Execute registration", type="primary", disabled=bool(counts["error"]) or not runnable,
        key="execute", help="Opens the last settings before the batch runs.",
    ):  # fmt: skip
        st.session_state[EXECUTING] = True
    # The dialog stays open over reruns until it is dismissed or the batch is executed.
    if st.session_state.get(EXECUTING) and not counts["error"]:
        _execute_dialog(app, operator, upload)


def _leave(place: Any, label: str, key: str, upload: Upload) -> None:
    """A button that drops the checked file; after changes in the grid it asks first."""
    if not upload.changes:
        place.button(label, on_click=_reset, key=key)
        return
    with place.popover(label):
        st.write(
            f'Your {upload.changes:,} change(s) in the grid will be lost. "Download rows with '
            'errors" keeps the rows that still have errors, with your edits.'
        )
        st.button("Discard my changes", on_click=_reset, key=key, type="primary")


def _error_file(result: CheckResult) -> bytes:
    header, rows = result.error_report()
    try:
        return write_table(header, rows, encoding=download_encoding(result.sheet.encoding))
    except UserbatchError:
        return write_table(header, rows, encoding="utf-8-sig")


# -- executing -------------------------------------------------------------------------------


def _close_dialog() -> None:
    st.session_state.pop(EXECUTING, None)


@st.dialog("Execute registration", width="large", on_dismiss=_close_dialog)
def _execute_dialog(app: AppContext, operator: OperatorInfo, upload: Upload) -> None:
    result = upload.result
    assert result is not None
    counts = result.counts
    st.write(
        f"**{counts['new']:,}** new user(s) will be registered and **{counts['update']:,}** "
        f"updated; {counts['unchanged']:,} unchanged row(s) are left as they are."
    )
    invited = invited_rows(result)
    if not counts["new"]:
        reason = "This batch only updates users, so the invitation setting is not relevant."
    elif not invited:
        reason = "None of the new users is Valid with an e-mail address, so none gets one."
    else:
        reason = (
            f"{len(invited):,} of the {counts['new']:,} new users get one (only Valid users "
            "with an e-mail address)."
        )
    invite = st.checkbox(
        "Send invitation e-mail to new registered users", key="invite", disabled=not invited,
        help="The e-mail has a link where the user sets a password.",
    )  # fmt: skip
    st.caption(reason)
    invitation = _invitation_settings(app, operator, result) if invite and invited else None
    if invite and invited and invitation is None:
        return
    if st.button("Execute", type="primary", key="execute_confirm"):
        try:
            # One id per upload: pressing Execute again after a failed hand-over only queues
            # the batch stored the first time.
            upload.batch_id = upload.batch_id or new_batch_id()
            submit_batch(
                app.engine, app.settings, result, operator=operator,
                working_group=result.options.working_group, invitation=invitation,
                batch_id=upload.batch_id,
            )  # fmt: skip
        except UserbatchError as exc:
            st.error(inert(str(exc)))
            return
        upload.stored = upload.batch_id
        _close_dialog()
        st.rerun()


def _invitation_settings(
    app: AppContext, operator: OperatorInfo, result: CheckResult
) -> Invitation | None:
    templates = list_templates(app.engine)
    if not templates:
        st.error("There is no e-mail template; create one under E-mail templates.")
        return None
    by_id = {template.id: template for template in templates}
    template_id = st.selectbox(
        "E-mail template", list(by_id), format_func=lambda i: by_id[i].name, key="template"
    )
    template = by_id[template_id]
    subject, body = template.subject, template.body
    if st.toggle("Edit", key="edit_template", help="Change subject and body for this batch."):
        subject = st.text_input("Subject", value=template.subject, key=f"subject-{template.id}")
        body = st.text_area("Body", value=template.body, height=220, key=f"body-{template.id}")
        st.caption(
            "Variables: {{ name }}, {{ display_name }}, {{ login_id }}, {{ email }}, {{ group }}, "
            "{{ set_password_url }}, {{ login_url }}, {{ site_name }}, {{ expiration_date }}, "
            "{{ custom.<key> }}"
        )
        # Templates are the organisation's: only an administrator changes them.
        if operator.is_admin and st.checkbox(
            f"Also save as the template '{inert(template.name)}'", key="save_template"
        ):
            try:
                save_template(
                    app.engine, operator, template_id=template.id, subject=subject, body=body
                )
            except UserbatchError as exc:
                st.error(inert(str(exc)))
                return None
    try:
        preview = preview_invitation(app.engine, app.settings, result, subject=subject, body=body)
    except UserbatchError as exc:
        st.error(inert(str(exc)))
        return None
    if preview is not None:
        with st.container(border=True):
            st.caption("Preview for the first invited row")
            st.markdown(f"**{inert(preview.subject)}**")
            st.text(preview.body)
    send_at = _send_at()
    if send_at is None:
        return None
    return Invitation(template.id, subject, body, send_at)


def _send_at() -> dt.datetime | None:
    zone_name = browser_zone_name()
    zone = zoneinfo.ZoneInfo(zone_name)
    when = st.radio("Send at", ["Now", "Later"], horizontal=True, key="send_when")
    if when == "Now":
        return dt.datetime.now(dt.UTC)
    now = dt.datetime.now(zone)
    left, right = st.columns(2)
    day = left.date_input("Date", value=now.date() + dt.timedelta(days=1), key="send_date")
    time = right.time_input("Time", value=dt.time(9, 0), key="send_time", step=900)
    st.caption(f"Time zone: {zone_name} (your browser's)")
    chosen = dt.datetime.combine(day, time, tzinfo=zone)
    if chosen <= now:
        st.error("That time has passed; choose a time in the future.")
        return None
    return chosen.astimezone(dt.UTC)


def _stored(upload: Upload) -> None:
    result = upload.result
    assert result is not None
    rows = sum(result.counts.values())
    st.success(
        f"The batch from **{inert(upload.file_name)}** is stored and queued: {rows:,} rows. "
        "It runs in the background; follow it in the sidebar or under Background processing."
    )
    st.page_link("views/background.py", label="Background processing", icon=":material/sync:")
    st.button("Upload another file", on_click=_reset, type="primary", key="another")
