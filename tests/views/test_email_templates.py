"""lib/userbatch/ui/email_templates.py through AppTest."""

from __future__ import annotations

from collections.abc import Callable

from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Button

from tests.conftest import World
from tests.helpers import literal
from userbatch.mail.outbox import list_messages
from userbatch.mail.templates import create_template, list_templates
from userbatch.ui.email_templates import NEW, SAMPLE

SCREEN = "lib/userbatch/ui/email_templates.py"
GOOD_BODY = "Dear {{ name }},\n{{ set_password_url }}\n"


def _button(app: AppTest, label: str) -> Button:
    return next(button for button in app.button if button.label == label)


def _invitation_id(world: World) -> int:
    return list_templates(world.engine)[0].id


def test_the_list_and_a_problem_shown_while_editing(
    world: World, open_screen: Callable[..., AppTest]
) -> None:
    app = open_screen(SCREEN)
    assert not app.exception
    assert app.dataframe[0].value["Name"].tolist() == ["Invitation"]
    prefix = f"template_{_invitation_id(world)}"
    original = list_templates(world.engine)[0]
    app.text_area(key=f"{prefix}_body").input("Hello {{ nmae }}").run()
    [problem] = app.error
    assert "Unknown variable" in problem.value and "nmae" in problem.value
    assert "did you mean" in problem.value
    app.button(key=f"{prefix}_save").click().run()
    assert any("The template has problems" in literal(error.value) for error in app.error)
    assert list_templates(world.engine) == [original]


def test_saving_a_good_change(world: World, open_screen: Callable[..., AppTest]) -> None:
    app = open_screen(SCREEN)
    prefix = f"template_{_invitation_id(world)}"
    app.text_input(key=f"{prefix}_subject").input("Welcome to {{ site_name }}")
    app.text_area(key=f"{prefix}_body").input("Dear {{ name }},").run()
    assert not app.error
    app.selectbox(key=f"{prefix}_variable").select("set_password_url").run()
    app.button(key=f"{prefix}_insert").click().run()
    assert app.text_area(key=f"{prefix}_body").value == "Dear {{ name }}, {{ set_password_url }}"
    app.button(key=f"{prefix}_save").click().run()
    assert literal(app.success[0].value) == "Saved 'Invitation'."
    [saved] = list_templates(world.engine)
    assert (saved.subject, saved.body) == (
        "Welcome to {{ site_name }}", "Dear {{ name }}, {{ set_password_url }}",
    )  # fmt: skip


def test_unsaved_edits_survive_looking_at_another_template(
    world: World, open_screen: Callable[..., AppTest]
) -> None:
    other = create_template(
        world.engine, world.admin, name="Reminder", subject="A reminder", body=GOOD_BODY
    )
    app = open_screen(SCREEN)
    invitation = _invitation_id(world)
    prefix = f"template_{invitation}"
    app.text_area(key=f"{prefix}_body").input("Dear {{ name }}, half written").run()
    assert any("Unsaved changes" in caption.value for caption in app.caption)
    app.selectbox(key="templates_choice").select(other).run()
    assert app.text_area(key=f"template_{other}_body").value == GOOD_BODY
    assert not any("Unsaved changes" in caption.value for caption in app.caption)
    app.selectbox(key="templates_choice").select(invitation).run()
    assert app.text_area(key=f"{prefix}_body").value == "Dear {{ name }}, half written"
    app.button(key=f"{prefix}_discard").click().run()
    saved = next(t for t in list_templates(world.engine) if t.id == invitation)
    assert app.text_area(key=f"{prefix}_body").value == saved.body
    assert not any("Unsaved changes" in caption.value for caption in app.caption)


def test_creating_and_deleting_a_template(
    world: World, open_screen: Callable[..., AppTest]
) -> None:
    app = open_screen(SCREEN)
    app.selectbox(key="templates_choice").select(NEW).run()
    app.text_input(key="template_new_name").input("Reminder")
    app.text_input(key="template_new_subject").input("A reminder")
    app.text_area(key="template_new_body").input(GOOD_BODY).run()
    app.button(key="template_create").click().run()
    assert literal(app.success[0].value) == "Created 'Reminder'."
    reminder = next(t for t in list_templates(world.engine) if t.name == "Reminder")
    assert app.selectbox(key="templates_choice").value == reminder.id
    delete = app.button(key=f"template_{reminder.id}_delete")
    assert delete.disabled
    app.checkbox(key=f"template_{reminder.id}_confirm").check().run()
    app.button(key=f"template_{reminder.id}_delete").click().run()
    assert literal(app.success[0].value) == "Deleted 'Reminder'."
    assert [t.name for t in list_templates(world.engine)] == ["Invitation"]


def test_a_refused_deletion_is_shown(world: World, open_screen: Callable[..., AppTest]) -> None:
    app = open_screen(SCREEN)
    prefix = f"template_{_invitation_id(world)}"
    app.checkbox(key=f"{prefix}_confirm").check().run()
    app.button(key=f"{prefix}_delete").click().run()
    assert "'Invitation' is the only e-mail template" in literal(app.error[0].value)


def test_preview_with_a_user_found_by_search(
    world: World, open_screen: Callable[..., AppTest]
) -> None:
    world.add_user("sato0002", name="Sato", email="sato@example.com", groups=("Sales",))
    world.add_user("kato0003", name="Kato", email="kato@example.com", groups=("Support",))
    app = open_screen(SCREEN)
    prefix = f"template_{_invitation_id(world)}"
    app.text_input(key=f"{prefix}_subject").input("Hello {{ name }}")
    app.text_area(key=f"{prefix}_body").input("{{ login_id }} in {{ group }}").run()
    app.text_input(key="templates_user_search").input("kato").run()
    picker = app.selectbox(key="templates_user")
    assert picker.options == ["kato0003 — Kato", "Sample values (no real user)"]
    assert "**Subject:** Hello Kato" in [m.value for m in app.markdown]
    assert "kato0003 in Support" in [t.value for t in app.text]
    picker.select(SAMPLE).run()
    assert "yamada01 in Sales>>Tokyo" in [t.value for t in app.text]


def test_a_test_is_kept_in_the_outbox(world: World, open_screen: Callable[..., AppTest]) -> None:
    app = open_screen(SCREEN)
    app.text_input(key="templates_test_address").input("me@example.com")
    _button(app, "Send test").click().run()
    assert not app.exception
    assert (
        literal(app.success[0].value) == "SMTP_URL is not set, so the test is kept in the Outbox."
    )
    [message] = list_messages(world.engine)
    assert message.recipient == "me@example.com" and message.subject.startswith("[Test] ")


def test_a_bad_address_is_refused(world: World, open_screen: Callable[..., AppTest]) -> None:
    app = open_screen(SCREEN)
    app.text_input(key="templates_test_address").input("nobody")
    _button(app, "Send test").click().run()
    assert "'nobody' is not a valid e-mail address" in literal(app.error[0].value)
    assert list_messages(world.engine) == []


def test_a_manager_reads_previews_and_tests_but_does_not_edit(
    world: World, open_screen: Callable[..., AppTest]
) -> None:
    create_template(world.engine, world.admin, name="Reminder", subject="R", body=GOOD_BODY)
    world.add_user("sato0002", name="Sato", email="sato@example.com", groups=("Sales",))
    world.add_user("kato0003", name="Kato", email="kato@example.com", groups=("Support",))
    manager = world.manager("mgr", "Sales")
    app = open_screen(SCREEN, operator=manager)
    assert not app.exception
    assert NEW not in app.selectbox(key="templates_choice").options
    assert app.selectbox(key="templates_choice").options == ["Invitation", "Reminder"]
    assert app.text_area(key="template_ro_body").disabled
    assert app.text_input(key="template_ro_subject").disabled
    assert [button.label for button in app.main.button] == ["Send test"]
    assert not app.main.checkbox
    # Only the manager's own users are offered for the preview.
    assert app.selectbox(key="templates_user").options == [
        "sato0002 — Sato", "Sample values (no real user)",
    ]  # fmt: skip
    app.text_input(key="templates_test_address").input("mgr@example.com")
    _button(app, "Send test").click().run()
    assert literal(app.success[0].value) == (
        "SMTP_URL is not set, so the test is kept in the Outbox."
    )
    assert [m.recipient for m in list_messages(world.engine)] == ["mgr@example.com"]
    # The test shows in the manager's own Outbox, not in another manager's.
    outbox = open_screen("lib/userbatch/ui/outbox.py", operator=manager)
    assert outbox.dataframe[0].value["Recipient"].tolist() == ["mgr@example.com"]
    other = open_screen("lib/userbatch/ui/outbox.py", operator=world.manager("mgr2", "Support"))
    assert not other.dataframe and "No messages yet." in [i.value for i in other.info]
