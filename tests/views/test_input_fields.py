"""lib/userbatch/ui/input_fields.py through AppTest (grid edits seeded as the browser sends them)."""

from __future__ import annotations

from collections.abc import Callable

from streamlit.testing.v1 import AppTest

from tests.conftest import World
from tests.helpers import literal
from userbatch.admin.field_settings import CustomField, add_custom_field, list_fields
from userbatch.mail.templates import list_templates, save_template
from userbatch.ui import keys


def save_grid(app: AppTest, edited_rows: dict[int, dict[str, object]]) -> AppTest:
    app.session_state[keys.FIELD_CHOICES] = {
        "edited_rows": edited_rows,
        "added_rows": [],
        "deleted_rows": [],
    }
    return app.button(key="FormSubmitter:field_settings-Save settings").click().run()


def test_fields_are_switched_off_reordered_and_required(
    world: World, open_screen: Callable[..., AppTest]
) -> None:
    app = open_screen("lib/userbatch/ui/input_fields.py")
    assert not app.exception
    grid = app.data_editor[0].value
    assert grid["Field"].tolist()[:3] == ["Login ID", "Name", "Display name"]
    app = save_grid(app, {1: {"Order": 1}, 5: {"In use": False}, 7: {"Required": True}})
    assert literal(app.success[0].value) == "Saved the input field settings."
    fields = {f.key: f for f in list_fields(world.engine)}
    assert [f.key for f in list_fields(world.engine)][:2] == ["name", "login_id"]
    assert not fields["department"].in_use and fields["status"].required


def test_a_refused_change_names_its_reason(
    world: World, open_screen: Callable[..., AppTest]
) -> None:
    app = save_grid(open_screen("lib/userbatch/ui/input_fields.py"), {0: {"In use": False}})
    assert "Login ID cannot be switched off or removed" in literal(app.error[0].value)
    assert "'Invitation'" in literal(app.error[0].value)
    assert all(f.in_use for f in list_fields(world.engine))


def test_a_custom_field_is_added_edited_and_removed(
    world: World, open_screen: Callable[..., AppTest]
) -> None:
    app = open_screen("lib/userbatch/ui/input_fields.py")
    app.text_input(key="add_key").input("course")
    app.text_input(key="add_label").input("Course")
    app.selectbox(key="add_type").select("pulldown")
    app.text_area(key="add_options").input("Math\nArt")
    app = app.button(key="FormSubmitter:add_field-Add field").click().run()
    assert literal(app.success[0].value) == "Added Course."
    assert world.columns()[-1].options == ("Math", "Art")

    app.text_input(key="edit_course_label").input("Courses")
    app.checkbox(key="edit_course_required").check()
    app = app.button(key="FormSubmitter:edit_field_course-Save field").click().run()
    assert literal(app.success[0].value) == "Saved Courses."
    assert world.columns()[-1].required

    invitation = list_templates(world.engine)[0]
    save_template(
        world.engine,
        world.admin,
        template_id=invitation.id,
        subject="Hi",
        body="{{ custom.course }}",
    )
    app = app.button(key="FormSubmitter:remove_field-Remove field").click().run()
    assert "Courses cannot be switched off or removed" in literal(app.error[0].value)
    save_template(
        world.engine, world.admin, template_id=invitation.id, subject="Hi", body="{{ name }}"
    )
    app = app.button(key="FormSubmitter:remove_field-Remove field").click().run()
    assert literal(app.success[0].value) == "Removed Courses."
    assert "course" not in [f.key for f in list_fields(world.engine)]


def test_a_manager_reads_the_settings_and_changes_nothing(
    world: World, open_screen: Callable[..., AppTest]
) -> None:
    add_custom_field(world.engine, world.admin, CustomField("course", "Course", "text"))
    app = open_screen("lib/userbatch/ui/input_fields.py", operator=world.manager("mgr", "Sales"))
    assert not app.exception
    assert literal(app.info[0].value) == "Only administrators change the input field settings."
    assert app.dataframe[0].value["Field"].tolist()[-1] == "Course"
    assert not app.data_editor
    # The sidebar's own buttons only: nothing on the screen changes the settings.
    assert [b.key for b in app.button] == [
        keys.SIGN_OUT, keys.SIGN_OUT_EVERYWHERE, keys.NOTICE_SAVE, keys.TOKEN_CREATE,
    ]  # fmt: skip
