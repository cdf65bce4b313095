"""The names under which the screens keep things in ``st.session_state``.

Widget keys are here too: a widget's value lives in session state under its key, and the
tests drive widgets by key. Keys that carry an id or a version are functions.
"""

from __future__ import annotations

# -- the batch screen: its state (see ui.batch.state) and widgets
BATCH = "batch_upload"
ONLY_ERRORS = "batch_only_errors"
GRID_PAGE = "batch_page"
EXECUTING = "batch_executing"  # the Execute dialog is open
BATCH_FILE = "batch_file"
UPLOAD_AND_CHECK = "upload_and_check"
REUPLOAD_AFTER_ERROR = "reupload_after_error"
DOWNLOAD_ERRORS = "download_errors"
REUPLOAD = "reupload"
BACK = "back"
EXECUTE = "execute"
INVITE = "invite"
EXECUTE_CONFIRM = "execute_confirm"
TEMPLATE = "template"
EDIT_TEMPLATE = "edit_template"
SAVE_TEMPLATE = "save_template"
SEND_WHEN = "send_when"
SEND_DATE = "send_date"
SEND_TIME = "send_time"
ANOTHER = "another"


def encoding(version: int) -> str:
    return f"encoding-{version}"


def delimiter(version: int) -> str:
    return f"delimiter-{version}"


def grid(version: int, first_row: int) -> str:
    return f"grid-{version}-{first_row}"


def subject(template_id: int) -> str:
    return f"subject-{template_id}"


def body(template_id: int) -> str:
    return f"body-{template_id}"
