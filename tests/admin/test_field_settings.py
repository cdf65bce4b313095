"""Input field settings: in use / required / order, custom fields, and who may change them."""

from __future__ import annotations

import dataclasses
import re

import pytest

from tests.check.test_check import outcome, run_check
from tests.conftest import World
from userbatch.admin.field_settings import (
    CustomField,
    FieldChoice,
    add_custom_field,
    edit_custom_field,
    list_fields,
    remove_custom_field,
    save_choices,
)
from userbatch.errors import UserbatchError
from userbatch.mail.templates import list_templates, save_template

DEFAULT_ORDER = [
    "login_id", "name", "display_name", "email", "password", "department", "position",
    "status", "expiration_date", "belong_to",
]  # fmt: skip
PLAIN_BODY = "Dear {{ name }}, set your password: {{ set_password_url }}"


def choices(world: World, **changes: tuple[bool, bool]) -> list[FieldChoice]:
    """The current choices, with ``key=(in_use, required)`` changed."""
    return [
        FieldChoice(f.key, *changes.get(f.key, (f.in_use, f.required)))
        for f in list_fields(world.engine)
    ]


def plain_invitation(world: World) -> None:
    """Let the "Invitation" template read nothing but name and the link (in each version)."""
    invitation = list_templates(world.engine)[0]
    for code in invitation.languages:
        save_template(
            world.engine, world.admin, template_id=invitation.id, subject="Welcome",
            body=PLAIN_BODY, language=code,
        )  # fmt: skip


def test_a_fresh_installation_has_the_standard_fields_in_order(world: World) -> None:
    fields = list_fields(world.engine)
    assert [f.key for f in fields] == DEFAULT_ORDER
    assert fields[0].label == "Login ID" and fields[0].japanese == "ログインID"
    assert all(f.in_use for f in fields)
    assert [f.key for f in fields if f.required] == ["login_id", "name"]


def test_switching_off_reordering_and_requiring_follow_at_once(world: World) -> None:
    new = choices(world, department=(False, False), status=(True, True))
    save_choices(world.engine, world.admin, [new[1], new[0], *new[2:]])
    columns = world.columns()
    assert [c.key for c in columns][:2] == ["name", "login_id"]
    assert "department" not in [c.key for c in columns]
    assert next(c for c in columns if c.key == "status").required
    result = run_check(world, "Name,Login ID,Status\nTanaka,tanaka01,\nSato,sato0001,Valid\n")
    assert outcome(result) == [("error", ["required"]), ("new", [])]
    assert str(result.ordered()[0].issues[0].message) == "Status is required."


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": (False, False)}, "Name is always in use and required"),
        ({"name": (True, False)}, "Name is always in use and required"),
        ({"password": (True, True)}, "Password cannot be required"),
        (
            {"login_id": (False, False), "email": (False, False)},
            "Email must be in use while Login ID is not",
        ),
        (
            {"login_id": (False, False)},
            "Login ID cannot be switched off or removed: the e-mail template(s) 'Invitation' use {{ login_id }}.",
        ),
        ({"display_name": (False, False)}, None),
    ],
)
def test_rules_of_the_standard_fields(
    world: World, changes: dict[str, tuple[bool, bool]], message: str | None
) -> None:
    if message is None:
        save_choices(world.engine, world.admin, choices(world, **changes))
        return
    with pytest.raises(UserbatchError, match=re.escape(message)):
        save_choices(world.engine, world.admin, choices(world, **changes))
    assert [f.key for f in list_fields(world.engine) if not f.in_use] == []


def test_login_id_off_is_refused_while_users_lack_an_email(world: World) -> None:
    plain_invitation(world)
    world.add_user("nomail01")
    world.add_user("sato0002", email="sato@example.com")
    with pytest.raises(UserbatchError, match=r"1 user\(s\) have no e-mail address.*nomail01"):
        save_choices(world.engine, world.admin, choices(world, login_id=(False, True)))


def test_without_login_ids_email_is_the_required_key(world: World) -> None:
    plain_invitation(world)
    world.add_user("sato0002", name="Sato", email="sato@example.com")
    save_choices(world.engine, world.admin, choices(world, login_id=(False, True)))
    email = next(f for f in list_fields(world.engine) if f.key == "email")
    assert email.in_use and email.required
    assert "login_id" not in [c.key for c in world.columns()]
    result = run_check(world, "Name,Email\nSato,sato@example.com\nNew,\nTanaka,t@example.com\n")
    assert outcome(result) == [("unchanged", []), ("error", ["required"]), ("new", [])]


def test_a_manager_changes_no_setting(world: World) -> None:
    manager = world.manager("mgr", "Sales")
    field = CustomField("employee_no", "Employee number", "text")
    attempts = [
        lambda: save_choices(world.engine, manager, choices(world)),
        lambda: add_custom_field(world.engine, manager, field),
        lambda: edit_custom_field(world.engine, manager, field),
        lambda: remove_custom_field(world.engine, manager, field.key),
    ]
    for attempt in attempts:
        with pytest.raises(UserbatchError, match="Only administrators can"):
            attempt()
    assert [f.key for f in list_fields(world.engine)] == DEFAULT_ORDER


def test_a_custom_field_becomes_a_checked_column(world: World) -> None:
    add_custom_field(
        world.engine,
        world.admin,
        CustomField("course", " Course ", "pulldown", (" Math ", "Art", "")),
    )
    fields = list_fields(world.engine)
    assert (fields[-1].key, fields[-1].label, fields[-1].options) == (
        "course",
        "Course",
        ("Math", "Art"),
    )
    assert world.columns()[-1].label == "Course"
    result = run_check(world, "Login ID,Name,Course\ntanaka01,Tanaka,Math\nsato0001,Sato,Music\n")
    assert outcome(result) == [("new", []), ("error", ["invalid_option"])]


BAD_FIELDS = [
    (CustomField("Course", "Course", "text"), "must start with a lower-case letter"),
    (CustomField("email", "Mail", "text"), "The key 'email' is taken"),
    (CustomField("course", "ログインID", "text"), "taken by the column Login ID"),
    (CustomField("course", "  creation DATE ", "text"), "taken by the column Creation date"),
    (CustomField("course", "", "text"), "The label must have 1–50 characters"),
    (CustomField("course", "Course", "slider"), "The type must be one of"),
    (CustomField("course", "Course", "radio"), "needs at least one option"),
    (CustomField("course", "Course", "checkbox", ("A", "A")), "Each option must be different"),
    (CustomField("course", "Course", "checkbox", ("A||B",)), "no || (it joins"),
    (CustomField("course", "Course", "text", ("A",)), "Only radio, pull-down and checkbox"),
]


@pytest.mark.parametrize(("field", "message"), BAD_FIELDS)
def test_a_bad_custom_field_is_refused_with_the_rule(
    world: World, field: CustomField, message: str
) -> None:
    with pytest.raises(UserbatchError, match=re.escape(message)):
        add_custom_field(world.engine, world.admin, field)
    assert [f.key for f in list_fields(world.engine)] == DEFAULT_ORDER


def test_custom_fields_are_edited_and_their_labels_stay_distinct(world: World) -> None:
    course = CustomField("course", "Course", "radio", ("Math", "Art"))
    add_custom_field(world.engine, world.admin, course)
    add_custom_field(world.engine, world.admin, CustomField("room", "Room", "text"))
    with pytest.raises(UserbatchError, match="taken by the column Room"):
        edit_custom_field(world.engine, world.admin, dataclasses.replace(course, label="room"))
    edit_custom_field(
        world.engine, world.admin,
        dataclasses.replace(course, label="Courses", type="checkbox", options=("Math", "Art", "PE"), required=True),
    )  # fmt: skip
    column = next(c for c in world.columns() if c.key == "course")
    assert (column.label, column.type, column.options, column.required) == (
        "Courses", "checkbox", ("Math", "Art", "PE"), True,
    )  # fmt: skip
    with pytest.raises(UserbatchError, match="no custom field with the key 'name'"):
        edit_custom_field(world.engine, world.admin, CustomField("name", "Name 2", "text"))


def test_a_field_a_template_reads_cannot_be_removed_or_switched_off(world: World) -> None:
    add_custom_field(world.engine, world.admin, CustomField("course", "Course", "text"))
    invitation = list_templates(world.engine)[0]
    body = "{{ name }} {{ custom.course }} {{ group }}"
    save_template(world.engine, world.admin, template_id=invitation.id, subject="Hi", body=body)
    with pytest.raises(
        UserbatchError,
        match=r"Course cannot be switched off or removed: the e-mail template\(s\) 'Invitation'",
    ):
        remove_custom_field(world.engine, world.admin, "course")
    with pytest.raises(UserbatchError) as refused:
        save_choices(
            world.engine,
            world.admin,
            choices(world, course=(False, False), belong_to=(False, False)),
        )
    assert "Course cannot be switched off" in str(refused.value)
    assert "Belong to cannot be switched off" in str(refused.value)
    save_template(
        world.engine, world.admin, template_id=invitation.id, subject="Hi", body=PLAIN_BODY
    )
    remove_custom_field(world.engine, world.admin, "course")
    assert "course" not in [f.key for f in list_fields(world.engine)]


def test_choices_for_a_changed_field_list_are_refused(world: World) -> None:
    stale = choices(world)
    add_custom_field(world.engine, world.admin, CustomField("course", "Course", "text"))
    with pytest.raises(UserbatchError, match="The fields changed meanwhile"):
        save_choices(world.engine, world.admin, stale)
