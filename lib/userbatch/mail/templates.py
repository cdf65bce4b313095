"""E-mail templates: list, create, edit, delete, preview with a real user, send a test.

Templates are shared by the whole organisation, so only administrators create, edit and
delete them; managers list them, preview them with users of their own groups and send
tests. Nothing is stored or rendered before ``template_check`` finds no problem in it.

A template holds one version per language (English, Japanese; at least one): the Execute
dialog sends one of them, the operator's language's by default.

Over 300 lines: a template's whole life (its name rules, its versions, the batches that still
use it, a preview and a test send) is one concept the E-mail templates screen calls into.
"""

from __future__ import annotations

import datetime as dt
import smtplib
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Engine, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from userbatch.db import session
from userbatch.directory.auth import OperatorInfo, require_admin
from userbatch.directory.fields import custom_keys
from userbatch.directory.groups import organisation_name
from userbatch.directory.scope import user_in_scope
from userbatch.errors import Conflict, DeliveryFailed, Invalid, NotFound
from userbatch.i18n import JAPANESE, LANGUAGES, N_, Plural, Sentences, Text, Words, _, language
from userbatch.mail.delivery import deliver, delivered
from userbatch.mail.invitations import invitation_variables
from userbatch.mail.outbox import accept_url
from userbatch.mail.render import SET_PASSWORD_URL, Rendered, render
from userbatch.mail.template_check import MAX_SUBJECT_LENGTH, sample_variables, validate_template
from userbatch.mail.versions import TemplateInfo as TemplateInfo
from userbatch.mail.versions import TemplateVersion as TemplateVersion
from userbatch.mail.versions import default_template as default_template
from userbatch.mail.versions import list_templates as list_templates
from userbatch.mail.versions import read_templates
from userbatch.mail.versions import template_named as template_named
from userbatch.models import Batch, BatchState, EmailTemplate, OutboxMessage, utcnow
from userbatch.models import EmailTemplateVersion as Version
from userbatch.settings import Settings

# What only an administrator may do ("Only administrators can <action>.").
_CREATE = Text("create e-mail templates, which everyone shares")
_EDIT = Text("edit e-mail templates, which everyone shares")
_DELETE = Text("delete e-mail templates, which everyone shares")
MAX_NAME_LENGTH = 100
TEST_MARK = N_("[Test]")  # before the subject of a test
# The set-password link of a preview or a test: it looks like the real one and sets nothing.
EXAMPLE_TOKEN = "this-test-link-sets-no-password"
# A batch in one of these states has still to run (a stored one is queued by Execute again).
# A template is in use while a batch that sends it has not ended.
NOT_ENDED = [state.value for state in BatchState if not state.is_final]


def create_template(
    engine: Engine,
    operator: OperatorInfo,
    *,
    name: str,
    subject: str,
    body: str,
    language: str | None = None,
) -> int:
    """Add a template with its version in ``language`` (the reader's when None); returns its
    id. Raises a ``UserbatchError`` for a manager, a name that is empty or taken, or a
    template with problems."""
    code = _known_language(language)
    _require_admin(engine, operator, _CREATE)
    _require_valid(engine, subject, body)
    try:
        with session(engine) as db, db.begin():
            template = EmailTemplate(name=_free_name(db, name, template_id=None))
            db.add(template)
            db.flush()
            db.add(Version(template_id=template.id, language=code, subject=subject, body=body))
            return template.id
    except IntegrityError:  # created at the same moment by someone else
        raise Conflict(_taken(name)) from None


def save_template(
    engine: Engine,
    operator: OperatorInfo,
    *,
    template_id: int,
    subject: str,
    body: str,
    name: str | None = None,
    language: str | None = None,
) -> None:
    """Change a template's subject and body in ``language``, adding that version if the
    template has none yet (when None: the version it shows in the reader's language), and its
    name, when given. Raises a ``UserbatchError`` for a manager, a template that no longer
    exists, a name that is empty or taken, or a template with problems."""
    code = None if language is None else _known_language(language)
    _require_admin(engine, operator, _EDIT)
    _require_valid(engine, subject, body)
    try:
        with session(engine) as db, db.begin():
            template = db.get(EmailTemplate, template_id)
            if template is None:
                raise NotFound(Text("That e-mail template no longer exists."))
            if name is not None:
                template.name = _free_name(db, name, template_id=template_id)
            if code is None:
                [shown] = read_templates(db, EmailTemplate.id == template_id)
                code = shown.version().language
            version = db.get(Version, (template_id, code))
            if version is None:
                db.add(Version(template_id=template_id, language=code, subject=subject, body=body))
            else:
                version.subject, version.body = subject, body
            template.updated_at = utcnow()
    except IntegrityError:  # the same name or version saved at the same moment by someone else
        raise Conflict(_taken(name or "")) from None


def delete_version(
    engine: Engine, operator: OperatorInfo, *, template_id: int, language: str
) -> None:
    """Delete a template's version in ``language``. Raises a ``UserbatchError`` for a
    manager and for the template's only version (a template keeps one)."""
    _require_admin(engine, operator, _EDIT)
    with session(engine) as db, db.begin():
        template = db.get(EmailTemplate, template_id)
        version = db.get(Version, (template_id, language))
        if template is None or version is None:
            raise NotFound(Text("That e-mail template no longer exists."))
        count = db.scalar(select(func.count()).where(Version.template_id == template_id))
        if count == 1:
            raise Conflict(
                Text("'{name}' has no other version, and a template keeps one; delete the "
                     "template instead.", name=template.name)
            )  # fmt: skip
        db.delete(version)
        template.updated_at = utcnow()


def delete_template(engine: Engine, operator: OperatorInfo, *, template_id: int) -> None:
    """Delete a template. Raises a ``UserbatchError`` for a manager, for the last template (the
    Execute dialog needs one), and while a batch that has still to run, or whose invitations
    are still scheduled, was executed with it; the message names those batches."""
    _require_admin(engine, operator, _DELETE)
    with session(engine) as db, db.begin():
        template = db.get(EmailTemplate, template_id)
        if template is None:
            raise NotFound(Text("That e-mail template no longer exists."))
        if db.scalar(select(func.count()).select_from(EmailTemplate)) == 1:
            raise Conflict(
                Text("'{name}' is the only e-mail template and the Execute dialog needs one; "
                     "create another template before deleting this one.", name=template.name)
            )  # fmt: skip
        uses: list[Words] = list(_waiting_uses(db, template_id))
        if uses:
            if len(uses) > 5:
                uses[5:] = [Plural("{n} more", "{n} more", len(uses) - 5)]
            # The uses have commas of their own: they are told apart by semicolons.
            separator = "；" if language() == JAPANESE else "; "
            raise Conflict(
                Text("'{name}' cannot be deleted while a scheduled batch uses it: {uses}. "
                     "Delete it once they have run and their invitations have gone out (a "
                     "batch still waiting can be canceled under Background processing).",
                     name=template.name, uses=separator.join(map(str, uses)))
            )  # fmt: skip
        db.execute(delete(Version).where(Version.template_id == template_id))
        db.delete(template)


def _waiting_uses(db: Session, template_id: int) -> list[Text]:
    """How batches executed with the template still wait: to run, or to send invitations."""
    scheduled = {
        batch_id: (count, first)
        for batch_id, count, first in db.execute(
            select(OutboxMessage.batch_id, func.count(), func.min(OutboxMessage.send_at))
            .where(OutboxMessage.state.in_(("scheduled", "sending")))
            .where(OutboxMessage.batch_id.is_not(None))
            .group_by(OutboxMessage.batch_id)
        )
    }
    batches = db.scalars(
        select(Batch)
        .where(or_(Batch.state.in_(NOT_ENDED), Batch.id.in_(list(scheduled))))
        .order_by(Batch.submitted_at)
    ).all()
    uses: list[Text] = []
    for batch in batches:
        if not batch.options.get("invite") or batch.options.get("template_id") != template_id:
            continue
        if batch.id in scheduled:
            count, first = scheduled[batch.id]
            uses.append(
                Text("batch '{name}' has {count} invitation(s) scheduled, the next at {when}",
                     name=batch.file_name, count=count, when=_when(first))
            )  # fmt: skip
        else:
            send_at = dt.datetime.fromisoformat(batch.options["send_at"])
            uses.append(
                Text("batch '{name}' ({state}, submitted {submitted}) sends invitations at "
                     "{when}", name=batch.file_name, state=batch.state,
                     submitted=_when(batch.submitted_at), when=_when(send_at))
            )  # fmt: skip
    return uses


def _when(moment: dt.datetime) -> str:
    return f"{moment.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"


def _require_admin(engine: Engine, operator: OperatorInfo, action: Text) -> None:
    """Raises ``NotAllowed`` unless ``operator`` is, as the database says now, an admin."""
    with session(engine) as db:
        require_admin(db, operator, action)


def _require_valid(engine: Engine, subject: str, body: str) -> list[str]:
    """The custom field keys; raises a ``UserbatchError`` listing the template's problems."""
    keys = custom_keys(engine)
    problems = validate_template(subject, body, custom_keys=keys)
    if problems:
        raise Invalid(Sentences(Text("The template has problems:"), *problems))
    return keys


def _known_language(code: str | None) -> str:
    """``code``, one of ``LANGUAGES`` (the reader's language when None); raises ``Invalid``."""
    code = code or language()
    if code not in LANGUAGES:
        raise Invalid(Text("There is no language '{language}'.", language=code))
    return code


def _taken(name: str) -> Text:
    return Text("There is already a template named '{name}'.", name=name.strip())


def _free_name(db: Session, name: str, *, template_id: int | None) -> str:
    name = name.strip()
    if not name:
        raise Invalid(Text("A template name must not be empty."))
    if len(name) > MAX_NAME_LENGTH:
        raise Invalid(
            Text("A template name has at most {count} characters.", count=MAX_NAME_LENGTH)
        )
    taken = db.scalar(
        select(EmailTemplate.name).where(
            func.lower(EmailTemplate.name) == name.lower(), EmailTemplate.id != (template_id or 0)
        )
    )
    if taken is not None:
        raise Conflict(_taken(taken))
    return name


def preview_template(
    engine: Engine,
    settings: Settings,
    *,
    operator: OperatorInfo,
    subject: str,
    body: str,
    user_id: int | None = None,
) -> Rendered:
    """The mail as the user ``user_id`` would get it (sample values when None); the
    set-password link is an example that sets nothing. Raises a ``UserbatchError`` for a template
    with problems or a user outside the operator's groups."""
    keys = _require_valid(engine, subject, body)
    site_name = organisation_name(engine) or "userbatch"
    if user_id is None:
        variables = sample_variables(keys, site_name=site_name, base_url=settings.base_url)
    else:
        user, groups = _user_variables(engine, user_id, operator.scope_path)
        variables = invitation_variables(
            user, groups, site_name=site_name, base_url=settings.base_url, custom_keys=keys
        )
    rendered = render(subject, body, variables)
    link = accept_url(settings, EXAMPLE_TOKEN)
    return Rendered(
        rendered.subject.replace(SET_PASSWORD_URL, link),
        rendered.body.replace(SET_PASSWORD_URL, link),
    )


def _user_variables(
    engine: Engine, user_id: int, scope_path: str
) -> tuple[dict[str, Any], list[str]]:
    with session(engine) as db:
        user, paths = user_in_scope(db, user_id, scope_path=scope_path)
    values = {
        "name": user.name, "display_name": user.display_name, "login_id": user.login_id,
        "email": user.email, "expiration_date": user.expiration_date, "custom": user.custom,
    }  # fmt: skip
    return values, paths


def send_test(
    engine: Engine,
    settings: Settings,
    *,
    operator: OperatorInfo,
    recipient: str,
    subject: str,
    body: str,
    user_id: int | None = None,
) -> str:
    """Send the template, filled in for ``user_id`` (sample values when None), to
    ``recipient`` with "[Test]" before the subject; returns the transport: 'smtp', or
    'outbox' when SMTP_URL is unset and the message is kept in the Outbox. Every test is
    recorded in the outbox table (no batch). Raises a ``UserbatchError`` for a bad address, a
    template with problems, a user outside the operator's groups, or a server that refuses
    (the test is then recorded as failed)."""
    try:
        address = validate_email(recipient.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise Invalid(
            Text("'{address}' is not a valid e-mail address: {reason}",
                 address=recipient.strip(), reason=str(exc))
        ) from None  # fmt: skip
    rendered = preview_template(
        engine, settings, operator=operator, subject=subject, body=body, user_id=user_id
    )
    # A value with a line break must not break the mail header.
    subject_line = f"{_(TEST_MARK)} {' '.join(rendered.subject.split())}"[:MAX_SUBJECT_LENGTH]
    now = utcnow()
    with session(engine) as db, db.begin():
        message = OutboxMessage(
            recipient=address, subject=subject_line, body=rendered.body, send_at=now,
            state="sending", claimed_at=now, attempts=1, operator_id=operator.id,
        )  # fmt: skip
        db.add(message)
        db.flush()
        message_id = message.id
    outcome = update(OutboxMessage).where(OutboxMessage.id == message_id)
    try:
        transport = deliver(settings, recipient=address, subject=subject_line, body=rendered.body)
    except (smtplib.SMTPException, OSError) as exc:
        error = f"{type(exc).__name__}: {exc}"
        with engine.begin() as connection:
            connection.execute(outcome.values(state="failed", last_error=error, claimed_at=None))
        raise DeliveryFailed(
            Text("The test to {address} was not sent: {error}", address=address, error=error)
        ) from None
    with engine.begin() as connection:
        connection.execute(
            outcome.values(state=delivered(transport), sent_at=utcnow(), transport=transport)
        )
    return transport
