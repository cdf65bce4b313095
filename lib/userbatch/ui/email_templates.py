"""The E-mail templates screen: list, edit with problems shown as typed, preview, send a test.

Administrators create, edit and delete templates and their versions (English, Japanese);
managers see them read only, preview them with users of their groups and send tests. Each
template opens in the version of the operator's language, else the one it has. Streamlit
cannot insert text at the cursor of a text area, so the variable picker appends the chosen
variable to the end of the body.

Over 300 lines: the list, the editor of each version, the preview and the test send are one
screen, and each part reads the others' state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd
import streamlit as st

from userbatch.admin.users import search_users
from userbatch.directory.auth import OperatorInfo
from userbatch.directory.fields import custom_keys
from userbatch.errors import UserbatchError
from userbatch.i18n import (
    ENGLISH,
    JAPANESE,
    LANGUAGES,
    N_,
    Listing,
    Sentences,
    Text,
    _,
    language,
)
from userbatch.mail.template_check import validate_template, variable_names
from userbatch.mail.templates import (
    TEST_MARK,
    TemplateInfo,
    TemplateVersion,
    create_template,
    default_template,
    delete_template,
    delete_version,
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
# The name of each language a template may be written in, as the screen says it.
LANGUAGE_LABELS = {ENGLISH: N_("English"), JAPANESE: N_("Japanese")}


def language_label(code: str) -> str:
    """The name of the language ``code`` in the reader's language ("Japanese", "日本語")."""
    return _(LANGUAGE_LABELS[code])


def editor_prefix(template_id: int | None, code: str) -> str:
    """The key prefix of the editor of a template's version in ``code`` (English's has no
    suffix: the keys of a template's words before it had versions)."""
    prefix = keys.template_editor(template_id)
    return prefix if code == ENGLISH else f"{prefix}_{code}"


def render(app: AppContext, operator: OperatorInfo) -> None:
    st.title(_("E-mail templates"))
    if keys.TEMPLATES_NEXT in st.session_state:
        _switch(st.session_state.pop(keys.TEMPLATES_NEXT))
    notice = st.session_state.pop(keys.TEMPLATES_NOTICE, None)
    if notice:
        st.success(inert(notice))
    templates = list_templates(app.engine)
    frame = pd.DataFrame(
        {
            "Name": [t.name for t in templates],
            "Subject": [t.subject for t in templates],
            "Languages": [
                str(Listing([language_label(code) for code in t.languages])) for t in templates
            ],
        }
    )
    # The columns keep their English keys; their headers are in the reader's language.
    headers = {"Name": _("Template name"), "Subject": _("Subject"), "Languages": _("Languages")}
    st.dataframe(frame, hide_index=True, width="stretch", column_config=headers)
    if templates:
        name = inert(default_template(app.engine).name)
        st.caption(_("'{name}' is the default wherever a template is chosen.", name=name))
    by_id = {template.id: template for template in templates}
    choice = st.selectbox(
        _("Template"), list(by_id) + ([NEW] if operator.is_admin else []),
        key=keys.TEMPLATES_CHOICE,
        format_func=lambda i: by_id[i].name if i in by_id else _("New template"),
    )  # fmt: skip
    custom = custom_keys(app.engine)
    template = by_id.get(choice)
    if operator.is_admin:
        code = _language_choice(template, offered=LANGUAGES)
        subject, body, ready = _editor(app, operator, template, code, custom)
    elif template is not None:
        code = _language_choice(template, offered=template.languages)
        subject, body, ready = _read_only(template.version(code))
    else:
        return
    _preview(app, operator, subject, body, ready=ready)


def _language_choice(template: TemplateInfo | None, *, offered: Sequence[str]) -> str:
    """The language of the version shown: the reader's when the template has it (or for a
    new one), else the one it has; languages it has not yet are marked so."""
    has = template.languages if template else list(LANGUAGES)
    default = template.version().language if template else language()
    picked = st.radio(
        _("Language"), list(offered), index=list(offered).index(default), horizontal=True,
        key=keys.template_language(template.id if template else None),
        format_func=lambda code: language_label(code) if code in has
        else _("{language} (not written yet)", language=language_label(code)),
    )  # fmt: skip
    return str(picked)


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
    app: AppContext,
    operator: OperatorInfo,
    template: TemplateInfo | None,
    code: str,
    custom: list[str],
) -> tuple[str, str, bool]:
    """The edit form of ``template``'s version in ``code`` (a new template when None);
    returns the subject and body as typed and whether they have no problems."""
    prefix = editor_prefix(template.id if template else None, code)
    written = template is not None and code in template.languages
    version = template.version(code) if template and written else TemplateVersion(code, "", "")
    saved = {"name": template.name if template else "", "subject": version.subject,
             "body": version.body}  # fmt: skip
    drafts = st.session_state.setdefault(keys.TEMPLATES_DRAFTS, {})
    for field in FIELDS:
        # Set once, so what is typed survives reruns and the Insert button can append; a
        # draft left for another template comes back when this one is picked again.
        st.session_state.setdefault(f"{prefix}_{field}", drafts.get(prefix, saved)[field])
    name = st.text_input(_("Template name"), key=f"{prefix}_name", max_chars=100)
    subject = st.text_input(_("Subject"), key=f"{prefix}_subject", max_chars=255)
    body = st.text_area(_("Body"), key=f"{prefix}_body", height=300)
    typed = {"name": name, "subject": subject, "body": body}
    if typed == saved:
        drafts.pop(prefix, None)
    else:
        drafts[prefix] = typed
        unsaved, discard = st.columns([4, 1], vertical_alignment="center")
        unsaved.caption(
            _(":material/edit: Unsaved changes: they stay while you look at other templates.")
        )
        discard.button(
            _("Discard changes"), key=f"{prefix}_discard", on_click=_discard, args=(prefix,),
            width="stretch",
        )  # fmt: skip
    left, right = st.columns([4, 1], vertical_alignment="bottom")
    left.selectbox(
        _("Variable"), variable_names(custom), key=f"{prefix}_variable",
        format_func=lambda name: "{{ " + name + " }}",
    )  # fmt: skip
    right.button(
        _("Insert"), key=f"{prefix}_insert", on_click=_append, args=(prefix,), width="stretch"
    )
    st.caption(
        _("Insert adds the variable at the end of the body (Streamlit cannot insert at the "
          "cursor); cut and paste it where it belongs.")
    )  # fmt: skip
    problems = validate_template(subject, body, custom_keys=custom)
    if template is not None and not written and not (subject or body).strip():
        st.info(
            _("'{name}' has no {language} version yet. Write its subject and body and save "
              "them to add it.", name=inert(template.name), language=language_label(code))
        )  # fmt: skip
        return subject, body, False
    if problems:
        st.error("\n".join(f"- {inert(str(problem))}" for problem in problems))
    else:
        st.caption(_(":material/check: No problems: every variable is known."))
    if template is None:
        if st.button(_("Create template"), type="primary", key=keys.TEMPLATE_CREATE):
            _act(
                lambda: create_template(
                    app.engine, operator, name=name, subject=subject, body=body, language=code
                ),
                Text("Created '{name}'.", name=name.strip()),
                draft=prefix,
            )
        return subject, body, not problems
    if st.button(_("Save"), type="primary", key=f"{prefix}_save"):
        _act(
            lambda: save_template(
                app.engine, operator, template_id=template.id, name=name, subject=subject,
                body=body, language=code,
            ),
            Text("Saved '{name}'.", name=name.strip()),
            draft=prefix,
        )  # fmt: skip
    if written and len(template.languages) > 1:
        _delete_version(app, operator, template, code, prefix)
    with st.expander(_("Delete this template")):
        st.caption(
            _("Refused while a batch that has still to run, or whose invitations are still "
              "scheduled, was executed with it.")
        )  # fmt: skip
        confirmed = st.checkbox(
            _("Yes, delete '{name}'", name=inert(template.name)), key=f"{prefix}_confirm"
        )
        if st.button(_("Delete"), disabled=not confirmed, key=f"{prefix}_delete"):
            _act(
                lambda: delete_template(app.engine, operator, template_id=template.id),
                Text("Deleted '{name}'.", name=template.name),
                show_first=True,
                draft=prefix,
            )
    return subject, body, not problems


def _delete_version(
    app: AppContext, operator: OperatorInfo, template: TemplateInfo, code: str, prefix: str
) -> None:
    label = language_label(code)
    with st.expander(_("Delete the {language} version", language=label)):
        st.caption(
            _("The template keeps its other version. Batches already executed keep the words "
              "they were sent with.")
        )  # fmt: skip
        if st.button(_("Delete the {language} version", language=label), key=f"{prefix}_drop"):
            _act(
                lambda: delete_version(
                    app.engine, operator, template_id=template.id, language=code
                ),
                Text("Deleted the {language} version of '{name}'.", language=label,
                     name=template.name),
                draft=prefix,
                again=template.id,
            )  # fmt: skip


def _discard(prefix: str) -> None:
    st.session_state[keys.TEMPLATES_DRAFTS].pop(prefix, None)
    for field in FIELDS:
        st.session_state.pop(f"{prefix}_{field}", None)


def _append(prefix: str) -> None:
    body, variable = st.session_state[f"{prefix}_body"], st.session_state[f"{prefix}_variable"]
    space = "" if not body or body[-1].isspace() else " "
    st.session_state[f"{prefix}_body"] = body + space + "{{ " + variable + " }}"


def _act(
    action: Callable[[], object],
    done: Text,
    *,
    show_first: bool = False,
    draft: str = "",
    again: int | None = None,
) -> None:
    """Run ``action``; on success forget the ``draft`` it used up, note ``done`` and rerun
    showing the template it returns (a new one's id), the first one after a deletion, the
    template ``again`` afresh, or else the same one."""
    try:
        result = action()
    except UserbatchError as exc:
        st.error(inert(str(exc)))
        return
    st.session_state[keys.TEMPLATES_DRAFTS].pop(draft, None)
    st.session_state[keys.TEMPLATES_NOTICE] = done
    if show_first or isinstance(result, int) or again is not None:
        st.session_state[keys.TEMPLATES_NEXT] = None if show_first else (again or result)
    st.rerun()


def _read_only(version: TemplateVersion) -> tuple[str, str, bool]:
    # A key per language: the widgets show the words of the version chosen.
    ending = "" if version.language == ENGLISH else f"_{version.language}"
    st.text_input(
        _("Subject"), value=version.subject, disabled=True,
        key=keys.TEMPLATE_RO_SUBJECT + ending,
    )  # fmt: skip
    st.text_area(
        _("Body"), value=version.body, disabled=True, height=300,
        key=keys.TEMPLATE_RO_BODY + ending,
    )  # fmt: skip
    st.caption(
        _("Templates are shared by the whole organisation, so only an administrator changes "
          "them. You can preview them with users of your groups and send a test.")
    )  # fmt: skip
    return version.subject, version.body, True


def _preview(
    app: AppContext, operator: OperatorInfo, subject: str, body: str, *, ready: bool
) -> None:
    st.subheader(_("Preview"))
    text = st.text_input(
        _("Find a user"), key=keys.TEMPLATES_USER_SEARCH,
        placeholder=_("Login ID, name or e-mail"),
    )  # fmt: skip
    users, total = search_users(
        app.engine, scope_path=operator.scope_path, text=text, page_size=USERS_SHOWN
    )
    labels = {user.id: f"{user.login_id} — {user.name}" for user in users}
    user_id = st.selectbox(
        _("Preview with"), [*labels, SAMPLE], key=keys.TEMPLATES_USER,
        format_func=lambda i: labels.get(i, _("Sample values (no real user)")),
    )  # fmt: skip
    if total > USERS_SHOWN:
        st.caption(
            _("The first {shown} of {total:,} matching users; type to narrow.",
              shown=USERS_SHOWN, total=total)
        )  # fmt: skip
    chosen = None if user_id == SAMPLE else user_id
    if not ready:
        st.info(_("The preview appears once the problems above are fixed."))
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
                st.markdown(_("**Subject:** {subject}", subject=inert(preview.subject)))
                st.text(preview.body)
            st.caption(_("The set-password link here sets nothing; each invitation gets its own."))
    _send_test(app, operator, subject, body, chosen)


def _send_test(
    app: AppContext, operator: OperatorInfo, subject: str, body: str, user_id: int | None
) -> None:
    st.subheader(_("Send a test"))
    with st.form("templates_send_test"):
        address = st.text_input(_("Send to"), key=keys.TEMPLATES_TEST_ADDRESS)
        previewed = Text("The template as previewed, with {mark} before the subject.",
                         mark=_(TEST_MARK))  # fmt: skip
        kept = Text("Without SMTP_URL it is kept in the Outbox.")
        st.caption(inert(Sentences(previewed, *([] if app.settings.smtp_url else [kept]))))
        if not st.form_submit_button(_("Send test")):
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
        st.success(
            _("The test went to {address} through the SMTP server.",
              address=inert(address.strip()))
        )  # fmt: skip
    else:
        st.success(_("SMTP_URL is not set, so the test is kept in the Outbox."))
        st.page_link(outbox.__file__, label=_("Outbox"), icon=":material/outbox:")


# Streamlit runs this file as the E-mail templates screen (app.py).
if __name__ == "__main__":
    _app = app_context()
    _operator = current_operator(_app)
    assert _operator is not None  # app.py lets only signed-in operators reach this screen
    render(_app, _operator)
