"""E-mail templates: the check while editing, who may change them, deleting, preview, tests."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from tests.batches.test_apply import NEW_ROWS, _store
from tests.conftest import RunBatch, World
from tests.helpers import Mailbox
from userbatch.db import session
from userbatch.errors import UserbatchError
from userbatch.mail.outbox import list_messages, send_due
from userbatch.mail.render import render
from userbatch.mail.template_check import validate_template
from userbatch.mail.templates import (
    EXAMPLE_TOKEN,
    create_template,
    default_template,
    delete_template,
    list_templates,
    preview_template,
    save_template,
    send_test,
)
from userbatch.models import Batch, EmailTemplateVersion, FieldSetting, OutboxMessage, User

GOOD_BODY = "Dear {{ name }},\n\nSet your password: {{ set_password_url }}\n{{ site_name }}\n"

PROBLEMS = [
    ("unknown variable", "Hello {{ nmae }}", ["Body, line 1: Unknown variable {{ nmae }} — did you mean {{ name }}?"]),
    ("unknown on line 3", "Hello\n\n{{ emial }}", ["Body, line 3: Unknown variable {{ emial }} — did you mean {{ email }}?"]),
    ("unknown custom key", "{{ custom.dpt }}", ["Body, line 1: Unknown variable {{ custom.dpt }} — did you mean {{ custom.dept }}?"]),
    ("unknown custom key far off", "{{ custom.zzz }}", ["Body, line 1: Unknown variable {{ custom.zzz }}: no custom field has the key 'zzz' (keys: dept)."]),
    ("a custom key alone", "{{ dept }}", ["Body, line 1: Unknown variable {{ dept }} — did you mean {{ custom.dept }}?"]),
    ("custom alone", "{{ custom }}", ["Body, line 1: {{ custom }} alone is no value; write {{ custom.<key> }}."]),
    ("syntax error", "Hi\n{{ name", ["Body, line 2: unexpected end of template, expected 'end of print statement'."]),
    ("unclosed block", "{% if name %}\nHi", ["Body, line 1: Unexpected end of template. Jinja was looking for the following tags: 'elif' or 'else' or 'endif'. The innermost block that needs to be closed is 'if'."]),
    ("a string's internals", "{{ ''.__class__.__mro__ }}", ["Body, line 1: {{ ''.__class__.__mro__ }} reaches for Python internals; a template may read only its variables."]),
    ("cycler's globals", "{{ cycler.__init__.__globals__ }}", ["Body, line 1: {{ cycler.__init__.__globals__ }} reaches for Python internals; a template may read only its variables.", "Body, line 1: Unknown variable {{ cycler }}: see the list of variables."]),
    ("a variable's class", "{{ name.__class__ }}", ["Body, line 1: {{ name.__class__ }} reaches for Python internals; a template may read only its variables."]),
    ("a method of a variable", "{{ name.upper() }}", ["Body, line 1: {{ name.upper }} reaches into {{ name }}; a template reads a variable whole."]),
    ("internals through a filter", "{{ name|attr('__class__') }}", ["Body: The e-mail template reaches for Python internals, which it may not read: access to attribute '__class__' of 'str' object is unsafe."]),
    ("Jinja's globals", "{{ range(3) }}", ["Body, line 1: Unknown variable {{ range }}: see the list of variables."]),
    ("another template", "{% include 'secret.txt' %}", ["Body, line 1: A template cannot include, import or extend other templates."]),
    ("a failing expression", "{{ name + 1 }}", ['Body: The e-mail template cannot be rendered: TypeError: can only concatenate str (not "int") to str']),
    ("a huge repetition", "{{ 'x' * 100000000 }}", ["Body: The e-mail template cannot be rendered: Repeating makes more than 10,000 characters or items."]),
    ("a huge filter argument", "{{ name|center(100000000) }}", ["Body: The e-mail template cannot be rendered: Numbers above 10,000 are not available to filters and methods in an e-mail template."]),
    ("a huge width to format", "{{ '%*s'|format(100000000, name) }}", ["Body: The e-mail template cannot be rendered: Numbers above 10,000 are not available to filters and methods in an e-mail template."]),
    ("an empty body", "  ", ["Body: The body must not be empty."]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "expected"), [c[1:] for c in PROBLEMS], ids=[c[0] for c in PROBLEMS]
)
def test_problems_name_what_and_where(body: str, expected: list[str]) -> None:
    problems = validate_template("Welcome", body, custom_keys=["dept"])
    assert [str(problem) for problem in problems] == expected


@pytest.mark.parametrize(
    "body",
    [
        GOOD_BODY,
        "{{ custom.dept }} {{ custom['dept'] }}",
        "{% if expiration_date %}Until {{ expiration_date }}{% endif %}",
        "{% for x in ['a', 'b'] %}{{ loop.index }}{{ x }}{% endfor %}",
        "{{ display_name|upper }} {{ login_id }} {{ email }} {{ group }} {{ login_url }}",
    ],
)
def test_good_templates_have_no_problems(body: str) -> None:
    assert validate_template("Welcome to {{ site_name }}", body, custom_keys=["dept"]) == []


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("", "Subject: The subject must not be empty."),
        ("Hello\nthere", "Subject: The subject must be one line."),
        ("{{ nmae }}", "Subject, line 1: Unknown variable {{ nmae }} — did you mean {{ name }}?"),
    ],
)
def test_subject_problems(subject: str, expected: str) -> None:
    assert [str(p) for p in validate_template(subject, GOOD_BODY, custom_keys=[])] == [expected]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("{{ ''.__class__.__mro__ }}", "reaches for Python internals"),
        ("{{ cycler.__init__.__globals__ }}", "reaches for Python internals"),
        ("{{ cycler }}", "'cycler' is undefined"),
        ("{{ name.__class__ }}", "reaches for Python internals"),
        ("{{ lipsum() }}", "'lipsum' is undefined"),
        ("{{ 2 ** 3 }}", r"'\*\*' is not available"),
    ],
)
def test_rendering_refuses_what_the_sandbox_forbids(body: str, expected: str) -> None:
    with pytest.raises(UserbatchError, match=expected):
        render("Subject", body, {"name": "Sato"})


def test_a_fresh_installation_has_the_invitation_template(world: World) -> None:
    assert [t.name for t in list_templates(world.engine)] == ["Invitation"]
    assert default_template(world.engine).name == "Invitation"
    invitation = list_templates(world.engine)[0]
    assert validate_template(invitation.subject, invitation.body, custom_keys=[]) == []


def test_create_and_rename_keep_names_unique(world: World) -> None:
    admin = world.admin
    reminder = create_template(
        world.engine, admin, name=" Reminder ", subject="Reminder", body=GOOD_BODY
    )
    assert [t.name for t in list_templates(world.engine)] == ["Invitation", "Reminder"]
    with pytest.raises(UserbatchError, match="There is already a template named 'Reminder'"):
        create_template(world.engine, admin, name="reminder", subject="x", body=GOOD_BODY)
    with pytest.raises(UserbatchError, match="There is already a template named 'Invitation'"):
        save_template(
            world.engine, admin, template_id=reminder, name="INVITATION", subject="x",
            body=GOOD_BODY,
        )  # fmt: skip
    with pytest.raises(UserbatchError, match="A template name must not be empty"):
        create_template(world.engine, admin, name="  ", subject="x", body=GOOD_BODY)
    save_template(
        world.engine, admin, template_id=reminder, name="Welcome", subject="Hi {{ name }}",
        body=GOOD_BODY,
    )  # fmt: skip
    saved = {t.name: t for t in list_templates(world.engine)}
    assert saved["Welcome"].subject == "Hi {{ name }}"
    assert saved["Welcome"].body == GOOD_BODY


def test_a_template_with_problems_is_not_saved(world: World) -> None:
    template = list_templates(world.engine)[0]
    with pytest.raises(UserbatchError, match=r"Unknown variable \{\{ nmae \}\}"):
        save_template(
            world.engine, world.admin, template_id=template.id, subject="Hi", body="{{ nmae }}"
        )
    with pytest.raises(UserbatchError, match="reaches for Python internals"):
        create_template(
            world.engine, world.admin, name="Evil", subject="x", body="{{ name.__class__ }}"
        )
    assert list_templates(world.engine) == [template]


def test_a_known_custom_field_may_be_used(world: World) -> None:
    with session(world.engine) as db, db.begin():
        db.add(FieldSetting(key="dept", custom=True, label="Dept", type="text", position=20))
    template = list_templates(world.engine)[0]
    body = "Department: {{ custom.dept }}"
    save_template(world.engine, world.admin, template_id=template.id, subject="Hi", body=body)
    assert list_templates(world.engine)[0].body == body
    with pytest.raises(UserbatchError, match=r"did you mean \{\{ custom.dept \}\}"):
        save_template(
            world.engine, world.admin, template_id=template.id, subject="Hi",
            body="{{ custom.dpt }}",
        )  # fmt: skip


@pytest.mark.parametrize("action", ["create", "edit", "delete"])
def test_a_manager_may_not_change_templates(world: World, action: str) -> None:
    manager = world.manager("mgr", "Sales")
    template = list_templates(world.engine)[0]
    with pytest.raises(UserbatchError, match=f"Only administrators can {action} e-mail templates"):
        if action == "create":
            create_template(world.engine, manager, name="Mine", subject="x", body=GOOD_BODY)
        elif action == "edit":
            save_template(
                world.engine, manager, template_id=template.id, subject="x", body=GOOD_BODY
            )
        else:
            delete_template(world.engine, manager, template_id=template.id)
    assert list_templates(world.engine) == [template]


def test_the_last_template_stays(world: World) -> None:
    template = list_templates(world.engine)[0]
    with pytest.raises(UserbatchError, match="'Invitation' is the only e-mail template"):
        delete_template(world.engine, world.admin, template_id=template.id)


def test_a_template_is_deleted_once_no_scheduled_batch_uses_it(
    world: World, run_batch: RunBatch
) -> None:
    invitation = default_template(world.engine).id
    create_template(world.engine, world.admin, name="Reminder", subject="R", body=GOOD_BODY)
    batch_id = _store(world, NEW_ROWS, invite=True)
    with pytest.raises(UserbatchError) as refused:
        delete_template(world.engine, world.admin, template_id=invitation)
    message = str(refused.value)
    assert message.startswith("'Invitation' cannot be deleted while a scheduled batch uses it: ")
    assert "batch 'users.csv' (stored, submitted " in message
    # Applied: the batch has run, but its invitations wait in the outbox.
    run_batch(world, batch_id)
    with pytest.raises(UserbatchError, match=r"batch 'users.csv' has 2 invitation\(s\) scheduled"):
        delete_template(world.engine, world.admin, template_id=invitation)
    send_due(world.engine, world.settings)
    delete_template(world.engine, world.admin, template_id=invitation)
    assert [t.name for t in list_templates(world.engine)] == ["Reminder"]
    assert default_template(world.engine).name == "Reminder"


def test_a_queued_batch_blocks_only_its_own_template(world: World) -> None:
    create_template(world.engine, world.admin, name="Reminder", subject="R", body=GOOD_BODY)
    create_template(world.engine, world.admin, name="Welcome", subject="W", body=GOOD_BODY)
    batch_id = _store(world, NEW_ROWS, invite=True)
    with session(world.engine) as db, db.begin():
        db.execute(update(Batch).where(Batch.id == batch_id).values(state="queued"))
    reminder = next(t.id for t in list_templates(world.engine) if t.name == "Reminder")
    delete_template(world.engine, world.admin, template_id=reminder)
    with pytest.raises(UserbatchError, match=r"'users.csv' \(queued, submitted .* UTC\) sends"):
        delete_template(world.engine, world.admin, template_id=default_template(world.engine).id)


def test_a_finished_or_uninvited_batch_does_not_block(world: World) -> None:
    create_template(world.engine, world.admin, name="Reminder", subject="R", body=GOOD_BODY)
    _store(world, NEW_ROWS)  # stored without invitations
    finished = _store(world, NEW_ROWS, invite=True)
    with session(world.engine) as db, db.begin():
        db.execute(update(Batch).where(Batch.id == finished).values(state="canceled"))
    delete_template(world.engine, world.admin, template_id=default_template(world.engine).id)
    assert [t.name for t in list_templates(world.engine)] == ["Reminder"]


def test_preview_with_a_real_user(people: World) -> None:
    with session(people.engine) as db, db.begin():
        db.add(FieldSetting(key="dept", custom=True, label="Dept", type="text", position=20))
    sato = _user_id(people, "sato0002")
    preview = preview_template(
        people.engine, people.settings, operator=people.admin, user_id=sato,
        subject="Welcome to {{ site_name }}, {{ name }}",
        body="{{ login_id }} in {{ group }} [{{ custom.dept }}]\n{{ set_password_url }}",
    )  # fmt: skip
    assert preview.subject == "Welcome to Acme, Sato"
    link = f"{people.settings.base_url}/accept?token={EXAMPLE_TOKEN}"
    assert preview.body == f"sato0002 in Sales []\n{link}"


def test_a_manager_previews_only_users_in_scope(people: World) -> None:
    manager = people.manager("mgr", "Support")
    kato, sato = _user_id(people, "kato0003"), _user_id(people, "sato0002")
    preview = preview_template(
        people.engine, people.settings, operator=manager, user_id=kato, subject="Hi",
        body="{{ name }}",
    )  # fmt: skip
    assert preview.body == "Kato"
    with pytest.raises(UserbatchError, match="That user is outside your groups"):
        preview_template(
            people.engine, people.settings, operator=manager, user_id=sato, subject="Hi",
            body="{{ name }}",
        )  # fmt: skip
    with pytest.raises(UserbatchError, match="outside your groups"):
        send_test(
            people.engine, people.settings, operator=manager, recipient="m@example.com",
            subject="Hi", body="{{ name }}", user_id=sato,
        )  # fmt: skip


def test_a_test_goes_out_over_smtp(people: World, smtp: tuple[str, Mailbox]) -> None:
    url, mailbox = smtp
    settings = people.settings.model_copy(update={"smtp_url": url})
    transport = send_test(
        people.engine, settings, operator=people.manager("mgr", "Sales"),
        recipient=" Checker@Example.com ", subject="Welcome, {{ name }}", body=GOOD_BODY,
        user_id=_user_id(people, "sato0002"),
    )  # fmt: skip
    assert transport == "smtp"
    [received] = mailbox.to("Checker@example.com")
    assert received["Subject"] == "[Test] Welcome, Sato"
    body = received.get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert body.startswith("Dear Sato,")
    assert f"/accept?token={EXAMPLE_TOKEN}" in body
    [kept] = _outbox(people)
    assert (kept.batch_id, kept.user_id, kept.state, kept.transport) == (None, None, "sent", "smtp")


def test_a_refused_test_is_reported_and_recorded(people: World, smtp: tuple[str, Mailbox]) -> None:
    url, mailbox = smtp
    mailbox.refuse = 1
    settings = people.settings.model_copy(update={"smtp_url": url})
    with pytest.raises(UserbatchError, match=r"The test to c@example\.com was not sent: SMTP"):
        send_test(
            people.engine, settings, operator=people.admin, recipient="c@example.com",
            subject="Hi", body=GOOD_BODY,
        )  # fmt: skip
    [kept] = _outbox(people)
    assert kept.state == "failed" and "451" in (kept.last_error or "")
    assert mailbox.messages == []


def test_without_smtp_a_test_is_kept_in_the_outbox(people: World) -> None:
    assert people.settings.smtp_url is None
    transport = send_test(
        people.engine, people.settings, operator=people.admin, recipient="c@example.com",
        subject="Welcome, {{ name }}", body=GOOD_BODY,
    )  # fmt: skip
    assert transport == "outbox"
    [message] = list_messages(people.engine)
    assert (message.recipient, message.subject, message.state) == (
        "c@example.com", "[Test] Welcome, Hanako Yamada", "kept",
    )  # fmt: skip
    assert message.transport == "outbox" and not message.has_link
    assert message.body.startswith("Dear Hanako Yamada,")


@pytest.mark.parametrize(
    ("recipient", "subject", "body", "expected"),
    [
        ("not-an-address", "Hi", GOOD_BODY, "'not-an-address' is not a valid e-mail address"),
        ("c@example.com", "Hi", "{{ nmae }}", r"Unknown variable \{\{ nmae \}\}"),
    ],
)
def test_a_test_is_refused_before_sending(
    people: World, recipient: str, subject: str, body: str, expected: str
) -> None:
    with pytest.raises(UserbatchError, match=expected):
        send_test(
            people.engine, people.settings, operator=people.admin, recipient=recipient,
            subject=subject, body=body,
        )  # fmt: skip
    assert _outbox(people) == []


def test_invitations_read_a_blank_custom_field_as_blank(world: World, run_batch: RunBatch) -> None:
    with session(world.engine) as db, db.begin():
        db.add(FieldSetting(key="dept", custom=True, label="Dept", type="text", position=20))
        db.execute(
            update(EmailTemplateVersion).values(
                body="Dept: [{{ custom.dept }}] {{ set_password_url }}"
            )
        )
    run_batch(world, _store(world, NEW_ROWS, invite=True))
    bodies = {m.body for m in _outbox(world)}
    assert bodies == {"Dept: [] {{set-password-url}}"}


def _user_id(world: World, login_id: str) -> int:
    with session(world.engine) as db:
        return db.scalars(select(User.id).where(User.login_id == login_id)).one()


def _outbox(world: World) -> list[OutboxMessage]:
    with session(world.engine) as db:
        return list(db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_send_at_of_a_test_is_now(people: World) -> None:
    before = dt.datetime.now(dt.UTC)
    send_test(
        people.engine, people.settings, operator=people.admin, recipient="c@example.com",
        subject="Hi", body=GOOD_BODY,
    )  # fmt: skip
    [kept] = _outbox(people)
    assert kept.send_at >= before and kept.sent_at is not None and kept.sent_at >= kept.send_at
