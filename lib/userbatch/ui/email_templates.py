"""The E-mail templates screen: list, edit with problems shown as typed, preview, send a test.

Administrators create, edit and delete templates; managers see them read only, preview them
with users of their groups and send tests. Streamlit cannot insert text at the cursor of a
text area, so the variable picker appends the chosen variable to the end of the body.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from userbatch.admin.users import search_users
from userbatch.directory.auth import OperatorInfo
from userbatch.directory.fields import custom_keys
from userbatch.errors import UserbatchError
from userbatch.mail.template_check import validate_template, variable_names
from userbatch.mail.templates import (
    TemplateInfo,
    create_template,
    default_template,
    delete_template,
    list_templates,
    preview_template,
    save_template,
    send_test,
)
from userbatch.ui import keys, outbox
from userbatch.ui.context import AppContext, app_context
from userbatch.ui.session import current_operator
from userbatch.ui.text import inert

# Set before a rerun: the template to show next (None: the first), its editor filled afresh.
# Edits not saved yet, by editor (its widgets' key prefix): {"name", "subject", "body"}.
FIELDS = ("name", "subject", "body")
NEW = 0  # the choice that starts a new template
SAMPLE = 0  # the choice that previews with sample values instead of a user
USERS_SHOWN = 20


def render(app: AppContext, operator: OperatorInfo) -> None:
    st.title("E-mail templates")
    if keys.TEMPLATES_NEXT in st.session_state:
        _switch(st.session_state.pop(keys.TEMPLATES_NEXT))
    notice = st.session_state.pop(keys.TEMPLATES_NOTICE, None)
    if notice:
        st.success(inert(notice))
    templates = list_templates(app.engine)
    frame = pd.DataFrame(
        {"Name": [t.name for t in templates], "Subject": [t.subject for t in templates]}
    )
    st.dataframe(frame, hide_index=True, width="stretch")
    if templates:
        name = inert(default_template(app.engine).name)
        st.caption(f"'{name}' is the default wherever a template is chosen.")
    by_id = {template.id: template for template in templates}
    choice = st.selectbox(
        "Template", list(by_id) + ([NEW] if operator.is_admin else []), key=keys.TEMPLATES_CHOICE,
        format_func=lambda i: by_id[i].name if i in by_id else "New template",
    )  # fmt: skip
    custom = custom_keys(app.engine)
    template = by_id.get(choice)
    if operator.is_admin:
        subject, body, ready = _editor(app, operator, template, custom)
    elif template is not None:
        subject, body, ready = _read_only(template)
    else:
        return
    _preview(app, operator, subject, body, ready=ready)


def _switch(template_id: int | None) -> None:
    """Show ``template_id`` next (the first when None), its editor filled afresh from what
    is saved or from its draft."""
    for key in [k for k in st.session_state if str(k).startswith(keys.TEMPLATE_EDITOR)]:
        del st.session_state[key]
    if template_id is None:
        st.session_state.pop(keys.TEMPLATES_CHOICE, None)
    else:
        st.session_state[keys.TEMPLATES_CHOICE] = template_id


def _editor(
    app: AppContext, operator: OperatorInfo, template: TemplateInfo | None, custom: list[str]
) -> tuple[str, str, bool]:
    """The edit form of ``template`` (a new one when None); returns the subject and body as
    typed and whether they have no problems."""
    prefix = keys.template_editor(template.id if template else None)
    starting = template or TemplateInfo(0, "", "", "")
    saved = {field: getattr(starting, field) for field in FIELDS}
    drafts = st.session_state.setdefault(keys.TEMPLATES_DRAFTS, {})
    for field in FIELDS:
        # Set once, so what is typed survives reruns and the Insert button can append; a
        # draft left for another template comes back when this one is picked again.
        st.session_state.setdefault(f"{prefix}_{field}", drafts.get(prefix, saved)[field])
    name = st.text_input("Name", key=f"{prefix}_name", max_chars=100)
    subject = st.text_input("Subject", key=f"{prefix}_subject", max_chars=255)
    body = st.text_area("Body", key=f"{prefix}_body", height=300)
    typed = {"name": name, "subject": subject, "body": body}
    if typed == saved:
        drafts.pop(prefix, None)
    else:
        drafts[prefix] = typed
        unsaved, discard = st.columns([4, 1], vertical_alignment="center")
        unsaved.caption(
            ":material/edit: Unsaved changes: they stay while you look at other templates."
        )
        discard.button(
            "Discard changes", key=f"{prefix}_discard", on_click=_discard, args=(prefix,),
            width="stretch",
        )  # fmt: skip
    left, right = st.columns([4, 1], vertical_alignment="bottom")
    left.selectbox(
        "Variable", variable_names(custom), key=f"{prefix}_variable",
        format_func=lambda name: "{{ " + name + " }}",
    )  # fmt: skip
    right.button(
        "Insert", key=f"{prefix}_insert", on_click=_append, args=(prefix,), width="stretch"
    )
    st.caption(
        "Insert adds the variable at the end of the body (Streamlit cannot insert at the "
        "cursor); cut and paste it where it belongs."
    )
    problems = validate_template(subject, body, custom_keys=custom)
    if problems:
        st.error("\n".join(f"- {inert(str(problem))}" for problem in problems))
    else:
        st.caption(":material/check: No problems: every variable is known.")
    if template is None:
        if st.button("Create template", type="primary", key=keys.TEMPLATE_CREATE):
            _act(
                lambda: create_template(
                    app.engine, operator, name=name, subject=subject, body=body
                ),
                f"Created '{name.strip()}'.",
                draft=prefix,
            )
        return subject, body, not problems
    if st.button("Save", type="primary", key=f"{prefix}_save"):
        _act(
            lambda: save_template(
                app.engine, operator, template_id=template.id, name=name, subject=subject,
                body=body,
            ),
            f"Saved '{name.strip()}'.",
        )  # fmt: skip
    with st.expander("Delete this template"):
        st.caption(
            "Refused while a batch that has still to run, or whose invitations are still "
            "scheduled, was executed with it."
        )
        confirmed = st.checkbox(f"Yes, delete '{inert(template.name)}'", key=f"{prefix}_confirm")
        if st.button("Delete", disabled=not confirmed, key=f"{prefix}_delete"):
            _act(
                lambda: delete_template(app.engine, operator, template_id=template.id),
                f"Deleted '{template.name}'.",
                show_first=True,
                draft=prefix,
            )
    return subject, body, not problems


def _discard(prefix: str) -> None:
    st.session_state[keys.TEMPLATES_DRAFTS].pop(prefix, None)
    for field in FIELDS:
        st.session_state.pop(f"{prefix}_{field}", None)


def _append(prefix: str) -> None:
    body, variable = st.session_state[f"{prefix}_body"], st.session_state[f"{prefix}_variable"]
    space = "" if not body or body[-1].isspace() else " "
    st.session_state[f"{prefix}_body"] = body + space + "{{ " + variable + " }}"


def _act(
    action: Callable[[], object], done: str, *, show_first: bool = False, draft: str = ""
) -> None:
    """Run ``action``; on success forget the ``draft`` it used up, note ``done`` and rerun
    showing the template it returns (a new one's id), the first one after a deletion, or
    else the same one."""
    try:
        result = action()
    except UserbatchError as exc:
        st.error(inert(str(exc)))
        return
    st.session_state[keys.TEMPLATES_DRAFTS].pop(draft, None)
    st.session_state[keys.TEMPLATES_NOTICE] = done
    if show_first or isinstance(result, int):
        st.session_state[keys.TEMPLATES_NEXT] = None if show_first else result
    st.rerun()


def _read_only(template: TemplateInfo) -> tuple[str, str, bool]:
    st.text_input("Subject", value=template.subject, disabled=True, key=keys.TEMPLATE_RO_SUBJECT)
    st.text_area("Body", value=template.body, disabled=True, height=300, key=keys.TEMPLATE_RO_BODY)
    st.caption(
        "Templates are shared by the whole organisation, so only an administrator changes "
        "them. You can preview them with users of your groups and send a test."
    )
    return template.subject, template.body, True


def _preview(
    app: AppContext, operator: OperatorInfo, subject: str, body: str, *, ready: bool
) -> None:
    st.subheader("Preview")
    text = st.text_input(
        "Find a user", key=keys.TEMPLATES_USER_SEARCH, placeholder="Login ID, name or e-mail"
    )
    users, total = search_users(
        app.engine, scope_path=operator.scope_path, text=text, page_size=USERS_SHOWN
    )
    labels = {user.id: f"{user.login_id} — {user.name}" for user in users}
    user_id = st.selectbox(
        "Preview with", [*labels, SAMPLE], key=keys.TEMPLATES_USER,
        format_func=lambda i: labels.get(i, "Sample values (no real user)"),
    )  # fmt: skip
    if total > USERS_SHOWN:
        st.caption(f"The first {USERS_SHOWN} of {total:,} matching users; type to narrow.")
    chosen = None if user_id == SAMPLE else user_id
    if not ready:
        st.info("The preview appears once the problems above are fixed.")
    else:
        try:
            preview = preview_template(
                app.engine, app.settings, operator=operator, subject=subject, body=body,
                user_id=chosen,
            )  # fmt: skip
        except UserbatchError as exc:
            st.error(inert(str(exc)))
        else:
            with st.container(border=True):
                st.markdown(f"**Subject:** {inert(preview.subject)}")
                st.text(preview.body)
            st.caption("The set-password link here sets nothing; each invitation gets its own.")
    _send_test(app, operator, subject, body, chosen)


def _send_test(
    app: AppContext, operator: OperatorInfo, subject: str, body: str, user_id: int | None
) -> None:
    st.subheader("Send a test")
    with st.form("templates_send_test"):
        address = st.text_input("Send to", key=keys.TEMPLATES_TEST_ADDRESS)
        st.caption(
            "The template as previewed, with [Test] before the subject. "
            + ("Without SMTP_URL it is kept in the Outbox." if not app.settings.smtp_url else "")
        )
        if not st.form_submit_button("Send test"):
            return
    try:
        transport = send_test(
            app.engine, app.settings, operator=operator, recipient=address, subject=subject,
            body=body, user_id=user_id,
        )  # fmt: skip
    except UserbatchError as exc:
        st.error(inert(str(exc)))
        return
    if transport == "smtp":
        st.success(f"The test went to {inert(address.strip())} through the SMTP server.")
    else:
        st.success("SMTP_URL is not set, so the test is kept in the Outbox.")
        st.page_link(outbox.__file__, label="Outbox", icon=":material/outbox:")


# Streamlit runs this file as the E-mail templates screen (app.py).
if __name__ == "__main__":
    _app = app_context()
    _operator = current_operator(_app)
    assert _operator is not None  # app.py lets only signed-in operators reach this screen
    render(_app, _operator)
