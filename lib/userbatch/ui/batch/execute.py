"""Executing a checked batch: the dialog with the last settings (the invitation e-mail, its
template and send time), then the stored batch."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import streamlit as st

from userbatch.batches.drafts import discard_draft
from userbatch.batches.guard import MassChange, mass_change
from userbatch.batches.store import Invitation, invited_rows, preview_invitation
from userbatch.check.state import SUSPEND, CheckedSheet
from userbatch.directory.auth import OperatorInfo
from userbatch.errors import UserbatchError
from userbatch.i18n import ENGLISH, LANGUAGE_NAMES, LANGUAGES, N_, _, speaking
from userbatch.i18n import language as spoken
from userbatch.mail.templates import list_templates, save_template
from userbatch.ui import jobs, keys, language
from userbatch.ui.batch.state import Checked, Stored, drafts, put, reset
from userbatch.ui.clock import browser_zone_name
from userbatch.ui.context import AppContext
from userbatch.ui.text import inert
from userbatch.worker.submit import submit_batch

NOW, LATER = N_("Now"), N_("Later")  # when invitations are sent


def offer(app: AppContext, operator: OperatorInfo, state: Checked) -> None:
    """The Execute button, and the dialog it opens while the file has no errors."""
    counts = state.result.counts
    runnable = counts["new"] + counts["update"] + counts.get(SUSPEND, 0)
    if st.button(
        _("Execute registration"), type="primary",
        disabled=bool(counts["error"]) or not runnable, key=keys.EXECUTE,
        help=_("Opens the last settings before the batch runs."),
    ):  # fmt: skip
        st.session_state[keys.EXECUTING] = True
    # The dialog stays open over reruns until it is dismissed or the batch is executed.
    if st.session_state.get(keys.EXECUTING) and not counts["error"]:
        _DIALOGS[spoken()](app, operator)


def _close_dialog() -> None:
    st.session_state.pop(keys.EXECUTING, None)


def _dialog(app: AppContext, operator: OperatorInfo) -> None:
    language.resume()
    # The draft is looked up on each run: the dialog, a fragment, keeps its arguments for
    # the session, and a draft's check is large.
    state = drafts(app.settings.drafts_in_memory).get(app, operator)
    if state is None:
        st.warning(_("This draft was discarded or executed in another tab or window."))
        return
    result = state.result
    counts = result.counts
    st.write(
        _("**{new:,}** new user(s) will be registered and **{update:,}** updated; "
          "{unchanged:,} unchanged row(s) are left as they are.", new=counts["new"],
          update=counts["update"], unchanged=counts["unchanged"])
    )  # fmt: skip
    if SUSPEND in counts:
        st.write(
            _("**{count:,}** user(s) of the working group who are not in the file will be "
              "suspended.", count=counts[SUSPEND])
        )  # fmt: skip
    change = mass_change(app.engine, app.settings, result, operator.scope_path)
    confirmed = _confirmed(change)
    invited = invited_rows(result)
    if not counts["new"]:
        reason = _("This batch only updates users, so the invitation setting is not relevant.")
    elif not invited:
        reason = _("None of the new users is Valid with an e-mail address, so none gets one.")
    else:
        reason = _(
            "{count:,} of the {new:,} new users get one (only Valid users with an e-mail "
            "address).", count=len(invited), new=counts["new"],
        )  # fmt: skip
    invite = st.checkbox(
        _("Send invitation e-mail to new registered users"), key=keys.INVITE,
        disabled=not invited, help=_("The e-mail has a link where the user sets a password."),
    )  # fmt: skip
    st.caption(reason)
    invitation = _invitation_settings(app, operator, result) if invite and invited else None
    if invite and invited and invitation is None:
        return
    if st.button(
        _("Execute"), type="primary", key=keys.EXECUTE_CONFIRM,
        disabled=change is not None and confirmed is None,
    ):  # fmt: skip
        batch_id = state.source.batch_id
        try:
            submit_batch(
                app.engine, app.settings, result, operator=operator,
                working_group=result.options.working_group, invitation=invitation,
                batch_id=batch_id, confirmed=confirmed,
            )  # fmt: skip
        except UserbatchError as exc:
            st.error(inert(str(exc)))
            return
        discard_draft(app.engine, operator.id, draft_id=state.draft_id)  # it is the batch now
        drafts(app.settings.drafts_in_memory).drop(operator.id)
        put(Stored(state.source.file_name, sum(counts.values()), batch_id))
        _close_dialog()
        st.rerun()


def _confirmed(change: MassChange | None) -> int | None:
    """A mass change's warning and the box to type its number in: the number once typed
    right, else None."""
    if change is None:
        return None
    st.warning(
        _("**{sentence}** That is more than {limit:,} of the users in your groups. Check that "
          "the file is the one you mean.", sentence=change.sentence, limit=change.limit)
    )  # fmt: skip
    typed = st.text_input(
        _("Type {count} to confirm", count=change.affected), key=keys.CONFIRM_COUNT,
        placeholder=str(change.affected),
    )  # fmt: skip
    number = typed.replace(",", "").strip()
    return change.affected if number == str(change.affected) else None


def _invitation_settings(
    app: AppContext, operator: OperatorInfo, result: CheckedSheet
) -> Invitation | None:
    templates = list_templates(app.engine)
    if not templates:
        st.error(_("There is no e-mail template; create one under E-mail templates."))
        return None
    by_id = {template.id: template for template in templates}
    left, right = st.columns([3, 2], vertical_alignment="bottom")
    template_id = left.selectbox(
        _("E-mail template"), list(by_id), format_func=lambda i: by_id[i].name, key=keys.TEMPLATE
    )
    template = by_id[template_id]
    # The version sent: the operator's language's when the template has one, else its own.
    code = right.radio(
        _("Language of the e-mail"), template.languages, horizontal=True,
        index=template.languages.index(template.version().language),
        format_func=LANGUAGE_NAMES.__getitem__, key=keys.invitation_language(template.id),
    )  # fmt: skip
    version = template.version(code)
    subject, body = version.subject, version.body
    if st.toggle(
        _("Edit"), key=keys.EDIT_TEMPLATE, help=_("Change subject and body for this batch.")
    ):
        # English keeps the keys from before templates had versions.
        ending = "" if code == ENGLISH else f"-{code}"
        subject = st.text_input(
            _("Subject"), value=version.subject, key=keys.subject(template.id) + ending
        )
        body = st.text_area(
            _("Body"), value=version.body, height=220, key=keys.body(template.id) + ending
        )
        st.caption(
            _("Variables: {variables}", variables="{{ name }}, {{ display_name }}, "
              "{{ login_id }}, {{ email }}, {{ group }}, {{ set_password_url }}, "
              "{{ login_url }}, {{ site_name }}, {{ expiration_date }}, {{ custom.<key> }}")
        )  # fmt: skip
        # Templates are the organisation's: only an administrator changes them.
        if operator.is_admin and st.checkbox(
            _("Also save as the template '{name}' ({language})", name=inert(template.name),
              language=LANGUAGE_NAMES[code]),
            key=keys.SAVE_TEMPLATE,
        ):  # fmt: skip
            try:
                save_template(
                    app.engine, operator, template_id=template.id, subject=subject, body=body,
                    language=code,
                )  # fmt: skip
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
            st.caption(_("Preview for the first invited row"))
            st.markdown(f"**{inert(preview.subject)}**")
            st.text(preview.body)
    send_at = _send_at()
    if send_at is None:
        return None
    return Invitation(template.id, subject, body, send_at)


def _send_at() -> dt.datetime | None:
    zone_name = browser_zone_name()
    zone = zoneinfo.ZoneInfo(zone_name)
    when = st.radio(
        _("Send at"), [NOW, LATER], horizontal=True, key=keys.SEND_WHEN,
        format_func=lambda choice: _(choice),
    )  # fmt: skip
    if when == NOW:
        return dt.datetime.now(dt.UTC)
    now = dt.datetime.now(zone)
    left, right = st.columns(2)
    day = left.date_input(_("Date"), value=now.date() + dt.timedelta(days=1), key=keys.SEND_DATE)
    time = right.time_input(_("Time"), value=dt.time(9, 0), key=keys.SEND_TIME, step=900)
    st.caption(_("Time zone: {zone} (your browser's)", zone=zone_name))
    chosen = dt.datetime.combine(day, time, tzinfo=zone)
    if chosen <= now:
        st.error(_("That time has passed; choose a time in the future."))
        return None
    return chosen.astimezone(dt.UTC)


def stored(state: Stored) -> None:
    """The batch is stored and queued: where to follow it, and a fresh start."""
    st.success(
        _("The batch from **{name}** is stored and queued: {count:,} rows. It runs in the "
          "background; follow it in the sidebar or under Background processing.",
          name=inert(state.file_name), count=state.rows)
    )  # fmt: skip
    st.page_link(jobs.__file__, label=_("Background processing"), icon=":material/sync:")
    st.button(_("Upload another file"), on_click=reset, type="primary", key=keys.ANOTHER)


def _dialog_in(code: str) -> Any:
    """The Execute dialog titled in ``code``: a dialog's title is fixed when it is made."""
    with speaking(code):
        return st.dialog(_("Execute registration"), width="large", on_dismiss=_close_dialog)(
            _dialog
        )


_DIALOGS = {code: _dialog_in(code) for code in LANGUAGES}
