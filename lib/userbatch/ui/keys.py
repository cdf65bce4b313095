"""The names under which the screens keep things in ``st.session_state``.

Widget keys are here too: a widget's value lives in session state under its key, and the
tests drive widgets by key. Keys that carry an id or a version are functions.
"""

from __future__ import annotations

# -- who is signed in (ui.session) and the sidebar
SESSION_ID = "session_id"  # this tab's lasting sign-in (directory.sessions)
SIGN_IN_NOTICE = "sign_in_notice"
COOKIE_CODE = "session_cookie_code"  # a cookie to set or clear, for the browser to fetch
COOKIE_REQUEST = "session_cookie_request"  # the script that asks for either
COMPANY_IDENTITY_USED = "company_identity_used"  # this tab's st.user took its sign-in
DEAD_COOKIE = "session_cookie_dead"  # the token this tab's cookie held, known to be ended
SIGN_IN_REFUSAL = "sign_in_refusal"  # why a company identity was refused
SIGN_IN_COMPANY = "sign_in_company"
SIGN_OUT_EVERYWHERE = "sign_out_everywhere"
WORKING_GROUP = "working_group_id"  # the sidebar's picker
LANGUAGE = "language"  # the operator's chosen language ("" for none), once asked
LANGUAGE_NOW = "language_now"  # the language the page's last run spoke
LANGUAGE_PICKER = "language_picker"  # the sidebar's switch
TEMPLATE_UTF8, TEMPLATE_SJIS = "template_utf8", "template_sjis"  # the batch screen's downloads
CURRENT_USERS = "current_users_download"
PENDING_GROUP = "working_group_next"  # the picker's value from the next run (a draft's)
CURRENT_GROUP = "working_group"  # the group it drew on this run
SIGN_OUT = "sign_out"
SETUP_ORGANISATION = "setup_organisation"
SETUP_LOGIN = "setup_login"
SETUP_PASSWORD = "setup"  # a prefix: see password_fields
SIGN_IN_LOGIN = "sign_in_login"
SIGN_IN_PASSWORD = "sign_in_password"


def password_fields(prefix: str) -> list[str]:
    """The keys of a new password's field and its repetition (ui.forms.new_password)."""
    return [f"{prefix}_password", f"{prefix}_confirm"]


# -- the set-password page an invitation links to
ACCEPTED_LOGIN = "accepted_login"
ACCEPT_PASSWORD = "accept"  # a prefix: see password_fields

# -- background processing: the jobs panel and the history
JOBS_WATCHED = "jobs_panel_watched"
JOBS_SELECTED = "jobs_selected"
JOBS_STATES = "jobs_states"
JOBS_OPERATOR = "jobs_operator"
JOBS_TABLE = "jobs_table"
JOBS_OUTCOME = "jobs_outcome"
DOWNLOAD_RESULTS = "download_results"
CANCEL_BATCH = "cancel_batch"
RETRY_BATCH = "retry_batch"
NOTICE_EMAIL = "notice_email"
NOTICE_ON = "notice_on"
NOTICE_SAVE = "notice_save"
TOKEN_NAME = "token_name"  # the API tokens popover's form
TOKEN_DAYS = "token_days"
TOKEN_CREATE = "token_create"
# -- webhooks (ui.webhooks)
WEBHOOKS_NOTICE = "webhooks_notice"
WEBHOOK_URL = "webhook_url"
WEBHOOK_EVENTS = "webhook_events"
WEBHOOK_SECRET = "webhook_secret"
WEBHOOK_ADD = "webhook_add"
JOBS_PICKED = "jobs_picked"  # the history's row last picked, so a link can choose another
SHOW_LINKED = "show_linked_batch"
UNDO_OPEN = "undo_open"
UNDO_PREVIEW = "undo_preview"  # {"batch": id, "document": the preview}
UNDO_EXECUTE = "undo_execute"
UNDO_CLOSE = "undo_close"
DOWNLOAD_UNDO_PREVIEW = "download_undo_preview"

# -- the outbox
OUTBOX_NOTICE = "outbox_notice"
OUTBOX_STATES = "outbox_states"
OUTBOX_TABLE = "outbox_table"
REISSUE = "reissue"
CANCEL_MESSAGE = "cancel_message"
CANCEL_BATCH_MAIL = "cancel_batch_mail"

# -- manage users
USERS_NOTICE = "users_notice"
USERS_SEARCH = "users_search"
USERS_GROUP = "users_group"
USERS_STATUS = "users_status"
USERS_PAGE = "users_page"
USER_DOWNLOAD = "user_download"
OPEN_USER = "open_user"
USER_DETAIL = "user_detail"


def edit_login_id(user_id: int) -> str:
    return f"edit_login_id_{user_id}"


# -- groups
GROUPS_NOTICE = "groups_notice"
CREATE_PARENT = "create_parent"
CREATE_NAME = "create_name"
RENAME_GROUP = "rename_group"
RENAME_NAME = "rename_name"
MOVE_GROUP = "move_group"
MOVE_PARENT = "move_parent"
DELETE_GROUP = "delete_group"

# -- input field settings
INPUT_FIELDS_NOTICE = "input_fields_notice"
FIELD_CHOICES = "field_choices"  # the grid of fields
ADD_KEY = "add_key"
EDIT_FIELD = "edit_field"
REMOVE_FIELD_KEY = "remove_field_key"
NEW_FIELD = "add"  # the prefix of the new field's widgets


def field_editor(field_key: str) -> str:
    """The prefix of the widgets that edit custom field ``field_key``."""
    return f"edit_{field_key}"


# -- e-mail templates
TEMPLATES_NOTICE = "templates_notice"
TEMPLATES_CHOICE = "templates_choice"
TEMPLATES_NEXT = "templates_next"  # the template to show after a save or a deletion
TEMPLATES_DRAFTS = "templates_drafts"
TEMPLATE_EDITOR = "template_"  # the prefix of every editor's widgets
TEMPLATE_CREATE = "template_create"
TEMPLATE_RO_SUBJECT = "template_ro_subject"
TEMPLATE_RO_BODY = "template_ro_body"
TEMPLATES_USER_SEARCH = "templates_user_search"
TEMPLATES_USER = "templates_user"
TEMPLATES_TEST_ADDRESS = "templates_test_address"


def template_editor(template_id: int | None) -> str:
    """The prefix of the keys of a template's editor (a new template's for None)."""
    return f"{TEMPLATE_EDITOR}{template_id if template_id is not None else 'new'}"


def template_language(template_id: int | None) -> str:
    """The choice of which language's version of a template the editor shows."""
    return f"{template_editor(template_id)}_language"


# -- operators
OPERATORS_NOTICE = "operators_notice"
ADD_LOGIN = "add_login"
ADD_ROLE = "add_role"
ADD_SCOPE = "add_scope"
ADD_PASSWORD = "add"  # a prefix: see password_fields
ADD_SUBMIT = "add_submit"
ROLE_OPERATOR = "role_operator"
ROLE_ROLE = "role_role"
ROLE_SCOPE = "role_scope"
ROLE_SUBMIT = "role_submit"
RESET_OPERATOR = "reset_operator"
RESET_PASSWORD = "reset"  # a prefix: see password_fields
RESET_SUBMIT = "reset_submit"
DISABLE_OPERATOR = "disable_operator"
DISABLE = "disable"
ENABLE = "enable"

# -- the demo data offer
DEMO_NOTICE = "demo_notice"
LOAD_DEMO = "load_demo"

# -- the batch screen: its state (see ui.batch.state) and widgets
BATCH = "batch_upload"
BLANK_CELLS = "blank_cells"
COMPLETE_LIST = "complete_list"
CONFIRM_COUNT = "confirm_count"  # the number of users a mass change affects, typed
ONLY_ERRORS = "batch_only_errors"
GRID_PAGE = "batch_page"
GRID_SHOWN = "batch_grid_shown"  # this tab's GridPage
GRID_TAKEN = "batch_grid_taken"  # (the browser grid's id, the number of its last event taken)
GRID_FOCUS = "batch_grid_focus"  # {"id", "row", "col"}: the cell the browser is to focus, once
GRID_PAGE_ASKED = "batch_page_asked"  # the page the next error is on, until the pager shows it
GRID_NOTICE = "batch_grid_notice"  # said under the grid once (a paste that did not fit)
DRAFT_SHOWN = "batch_draft_shown"  # the draft this tab has opened where it was left
DELETE_TICKED = "delete_ticked"
REPLACE_SCOPE = "replace_scope"
REPLACE_COLUMN = "replace_column"
REPLACE_FIND = "replace_find"
REPLACE_WITH = "replace_with"
REPLACE_WHOLE = "replace_whole"
REPLACE_CASE = "replace_case"
REPLACE = "replace"
APPLY_EVERY_FIX = "apply_every_fix"
EXECUTING = "batch_executing"  # the Execute dialog is open
BATCH_FILE = "batch_file"
UPLOAD_AND_CHECK = "upload_and_check"
REUPLOAD_AFTER_ERROR = "reupload_after_error"
DRAFT_TRY_AGAIN = "draft_try_again"
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


def grid(draft_id: int) -> str:
    """The draft's grid (one per tab: the browser keeps what it has sent under this key)."""
    return f"grid-{draft_id}"


def apply_fix(number: int) -> str:
    """The button that applies one group of the suggested fixes (by its place in the list)."""
    return f"apply_fix_{number}"


def subject(template_id: int) -> str:
    return f"subject-{template_id}"


def body(template_id: int) -> str:
    return f"body-{template_id}"


def invitation_language(template_id: int) -> str:
    """The Execute dialog's choice of the template's version (its language)."""
    return f"{TEMPLATE}-language-{template_id}"


def revoke_token(token_id: int) -> str:
    return f"revoke_token_{token_id}"


def remove_webhook(webhook_id: int) -> str:
    return f"remove_webhook_{webhook_id}"
