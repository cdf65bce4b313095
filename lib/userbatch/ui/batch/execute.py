"""Executing a checked batch: the dialog with the last settings (the invitation e-mail, its
template and send time), then the stored batch."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import streamlit as st

from userbatch.batches.drafts import discard_draft
from userbatch.batches.guard import MassChange, mass_change
from userbatch.batches.store import Invitation, invited_rows, preview_invitation
from userbatch.check.state import SUSPEND, CheckedSheet
from userbatch.directory.auth import OperatorInfo
from userbatch.errors import UserbatchError
from userbatch.mail.templates import list_templates, save_template
from userbatch.ui import jobs, keys
from userbatch.ui.batch.state import Checked, Stored, drafts, put, reset
from userbatch.ui.clock import browser_zone_name
from userbatch.ui.context import AppContext
from userbatch.ui.text import inert
from userbatch.worker.submit import submit_batch


def offer(app: AppContext, operator: OperatorInfo, state: Checked) -> None:
    """The Execute button, and the dialog it opens while the file has no errors."""
    counts = state.result.counts
    runnable = counts["new"] + counts["update"] + counts.get(SUSPEND, 0)
    if st.button(
        "Execute registration", type="primary", disabled=bool(counts["error"]) or not runnable,
        key=keys.EXECUTE, help="Opens the last settings before the batch runs.",
    ):  # fmt: skip
        st.session_state[keys.EXECUTING] = True
    # The dialog stays open over reruns until it is dismissed or the batch is executed.
    if st.session_state.get(keys.EXECUTING) and not counts["error"]:
        _dialog(app, operator)


def _close_dialog() -> None:
    st.session_state.pop(keys.EXECUTING, None)


@st.dialog("Execute registration", width="large", on_dismiss=_close_dialog)
def _dialog(app: AppContext, operator: OperatorInfo) -> None:
    # The draft is looked up on each run: the dialog, a fragment, keeps its arguments for
    # the session, and a draft's check is large.
    state = drafts(app.settings.drafts_in_memory).get(app, operator)
    if state is None:
        st.warning("This draft was discarded or executed in another tab or window.")
        return
    result = state.result
    counts = result.counts
    st.write(
        f"**{counts['new']:,}** new user(s) will be registered and **{counts['update']:,}** "
        f"updated; {counts['unchanged']:,} unchanged row(s) are left as they are."
    )
    if SUSPEND in counts:
        st.write(
            f"**{counts[SUSPEND]:,}** user(s) of the working group who are not in the file "
            "will be suspended."
        )
    change = mass_change(app.engine, app.settings, result, operator.scope_path)
    confirmed = _confirmed(change)
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
        "Send invitation e-mail to new registered users", key=keys.INVITE, disabled=not invited,
        help="The e-mail has a link where the user sets a password.",
    )  # fmt: skip
    st.caption(reason)
    invitation = _invitation_settings(app, operator, result) if invite and invited else None
    if invite and invited and invitation is None:
        return
    if st.button(
        "Execute", type="primary", key=keys.EXECUTE_CONFIRM,
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
        f"**{change.sentence}** That is more than {change.limit:,} of the users in your "
        "groups. Check that the file is the one you mean."
    )
    typed = st.text_input(
        f"Type {change.affected} to confirm", key=keys.CONFIRM_COUNT,
        placeholder=str(change.affected),
    )  # fmt: skip
    number = typed.replace(",", "").strip()
    return change.affected if number == str(change.affected) else None


def _invitation_settings(
    app: AppContext, operator: OperatorInfo, result: CheckedSheet
) -> Invitation | None:
    templates = list_templates(app.engine)
    if not templates:
        st.error("There is no e-mail template; create one under E-mail templates.")
        return None
    by_id = {template.id: template for template in templates}
    template_id = st.selectbox(
        "E-mail template", list(by_id), format_func=lambda i: by_id[i].name, key=keys.TEMPLATE
    )
    template = by_id[template_id]
    subject, body = template.subject, template.body
    if st.toggle("Edit", key=keys.EDIT_TEMPLATE, help="Change subject and body for this batch."):
        subject = st.text_input("Subject", value=template.subject, key=keys.subject(template.id))
        body = st.text_area("Body", value=template.body, height=220, key=keys.body(template.id))
        st.caption(
            "Variables: {{ name }}, {{ display_name }}, {{ login_id }}, {{ email }}, {{ group }}, "
            "{{ set_password_url }}, {{ login_url }}, {{ site_name }}, {{ expiration_date }}, "
            "{{ custom.<key> }}"
        )
        # Templates are the organisation's: only an administrator changes them.
        if operator.is_admin and st.checkbox(
            f"Also save as the template '{inert(template.name)}'", key=keys.SAVE_TEMPLATE
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
    when = st.radio("Send at", ["Now", "Later"], horizontal=True, key=keys.SEND_WHEN)
    if when == "Now":
        return dt.datetime.now(dt.UTC)
    now = dt.datetime.now(zone)
    left, right = st.columns(2)
    day = left.date_input("Date", value=now.date() + dt.timedelta(days=1), key=keys.SEND_DATE)
    time = right.time_input("Time", value=dt.time(9, 0), key=keys.SEND_TIME, step=900)
    st.caption(f"Time zone: {zone_name} (your browser's)")
    chosen = dt.datetime.combine(day, time, tzinfo=zone)
    if chosen <= now:
        st.error("That time has passed; choose a time in the future.")
        return None
    return chosen.astimezone(dt.UTC)


def stored(state: Stored) -> None:
    """The batch is stored and queued: where to follow it, and a fresh start."""
    st.success(
        f"The batch from **{inert(state.file_name)}** is stored and queued: {state.rows:,} rows. "
        "It runs in the background; follow it in the sidebar or under Background processing."
    )
    st.page_link(jobs.__file__, label="Background processing", icon=":material/sync:")
    st.button("Upload another file", on_click=reset, type="primary", key=keys.ANOTHER)
