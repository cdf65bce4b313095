"""lib/userbatch/ui/batch/__init__.py through AppTest: each state of the screen, seeded session state."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from redis import Redis
from rq import Queue
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, World
from tests.helpers import literal
from userbatch.batches.drafts import restore_draft
from userbatch.db import session
from userbatch.mail.templates import list_templates
from userbatch.models import Batch
from userbatch.settings import Settings
from userbatch.ui import keys
from userbatch.ui.batch.state import GridPage
from userbatch.worker.connection import QUEUE_NAME

THREE_MISTAKES = (
    b"Login ID,Name,Email,Department,Belong to\r\n"
    b"tanaka01,Tanaka,tanaka@example.com,Sales,Sales>>Tokyo\r\n"
    b"ab1,Sato,sato@example,,\r\n"
    b"suzuki01,,suzuki@example.com,,Sales>>Tokio\r\n"
    b"yamada01,Yamada,yamada@example.com,,Support\r\n"
)
CLEAN = (
    b"Login ID,Name,Email,Belong to\r\n"
    b"tanaka01,Tanaka,tanaka@example.com,Sales>>Tokyo\r\n"
    b"yamada01,Yamada,,Support\r\n"
)


@pytest.fixture
def app(world: World, use_env: Callable[[Settings], None]) -> AppTest:
    use_env(world.settings)
    test = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    test.session_state[keys.SESSION_ID] = world.session_for()
    test.run()
    assert test.title[0].value == "Batch user registration/update"
    return test


def _upload(app: AppTest, data: bytes, name: str = "users.csv") -> AppTest:
    app.get("file_uploader")[0].upload(name, data, "text/csv")
    app.run()
    return app.button(key="upload_and_check").click().run()


def _counts(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def _expander(app: AppTest, label: str) -> Any:
    """The expander whose label starts with ``label``."""
    return next(block for block in app.expander if block.label.startswith(label))


def _grid_rows(app: AppTest) -> list[int]:
    return [int(n) for n in app.data_editor[0].value["Row"].tolist()]


def test_the_start_offers_templates_and_explains_columns(app: AppTest) -> None:
    labels = [button.label for button in app.download_button]
    assert labels == ["Download CSV", "Download CSV (Shift_JIS)", "Download current users"]
    assert app.expander[0].label == "What goes in each column"
    help_table = app.dataframe[0].value
    assert help_table["Column"].tolist()[:2] == ["Login ID", "Name"]
    assert "5–30 half-width" in help_table["What it accepts"].tolist()[0]
    assert app.button(key="upload_and_check").disabled


def test_upload_and_check_counts_and_marks_bad_cells(app: AppTest) -> None:
    _upload(app, THREE_MISTAKES)
    assert not app.exception
    assert _counts(app) == {"New": "2", "Update": "0", "Unchanged": "0", "Error": "2"}
    grid = app.data_editor[0].value
    assert grid["Status"].tolist() == ["New", "Error", "Error", "New"]
    # A marker column beside each column with a bad cell on the page, ✖ at the bad cell.
    assert grid["mark:login_id"].tolist() == ["", "✖", "", ""]
    assert grid["mark:email"].tolist() == ["", "✖", "", ""]
    assert grid["mark:name"].tolist() == ["", "", "✖", ""]
    assert "mark:department" not in grid.columns
    problems = _expander(app, "Problems on this page").markdown[0].value
    assert "**Row 3**, Login ID: Login ID must be 5–30 characters; 'ab1' has 3." in literal(
        problems
    )
    assert app.button(key="execute").disabled
    assert "2 row(s) still have errors" in literal(app.warning[0].value)


def test_show_only_errors(app: AppTest) -> None:
    _upload(app, THREE_MISTAKES)
    app.checkbox(key=keys.ONLY_ERRORS).check().run()
    assert _grid_rows(app) == [3, 4]


def _edit_grid(app: AppTest, edited_rows: dict[int, dict[str, object]]) -> AppTest:
    """The grid as the browser reports it after these edits (all of them, cumulative)."""
    grid: GridPage = app.session_state[keys.GRID_SHOWN]
    app.session_state[grid.key] = {"edited_rows": edited_rows, "added_rows": [], "deleted_rows": []}
    return app.run()


def _delete_rows(app: AppTest, positions: list[int]) -> AppTest:
    """Tick the rows at these positions of the grid and press "Delete ticked rows"."""
    grid: GridPage = app.session_state[keys.GRID_SHOWN]
    shown = app.session_state[grid.key]["edited_rows"] if grid.key in app.session_state else {}
    edited = {int(position): dict(changes) for position, changes in shown.items()}
    for position in positions:
        edited.setdefault(position, {})["Delete"] = True
    _edit_grid(app, edited)
    return app.button(key=keys.DELETE_TICKED).click().run()


def test_an_edit_is_checked_at_once_and_deleting_clears_the_rest(app: AppTest) -> None:
    _upload(app, THREE_MISTAKES)
    _edit_grid(app, {1: {"cell:login_id": "sato0002", "cell:email": "sato@example.com"}})
    assert _counts(app) == {"New": "3", "Update": "0", "Unchanged": "0", "Error": "1"}
    # The browser shows the edit over the cells as drawn, which the grid keeps sending.
    shown = app.data_editor[0].value
    assert shown["cell:login_id"].tolist()[1] == "ab1"
    assert shown["Status"].tolist()[1] == "New"
    _delete_rows(app, [2])
    assert _grid_rows(app) == [2, 3, 5]
    assert _counts(app)["Error"] == "0"
    assert not app.button(key="execute").disabled


def test_a_cell_typed_back_to_its_text_as_drawn_is_taken(app: AppTest) -> None:
    _upload(app, THREE_MISTAKES)
    before = _counts(app)
    _edit_grid(app, {1: {"cell:login_id": "sato0002", "cell:email": "sato@example.com"}})
    assert _counts(app) != before
    # The browser drops an edit that matches the cell as drawn: the cell is 'ab1' again.
    _edit_grid(app, {})
    assert _counts(app) == before
    problems = _expander(app, "Problems on this page").markdown[0].value
    assert "Login ID must be 5–30 characters" in literal(problems)


def test_a_file_of_unchanged_rows_has_nothing_to_execute(app: AppTest, world: World) -> None:
    world.add_user("tanaka01", name="Tanaka")
    _upload(app, b"Login ID,Name\r\ntanaka01,Tanaka\r\n")
    assert _counts(app) == {"New": "0", "Update": "0", "Unchanged": "1", "Error": "0"}
    assert app.button(key="execute").disabled
    assert "Nothing to register or update" in app.info[0].value


def test_leaving_after_changes_in_the_grid_asks_first(app: AppTest) -> None:
    _upload(app, THREE_MISTAKES)
    assert not app.get("popover")  # nothing to lose yet: the buttons act at once
    _edit_grid(app, {1: {"cell:login_id": "sato0002"}})
    _delete_rows(app, [2])
    asking = [block for block in app.get("popover") if block.proto.popover.label == "Re-upload"]
    assert "Your 2 change(s) in the grid will be lost" in asking[0].markdown[0].value
    asking[0].button(key="reupload").click().run()
    assert app.get("file_uploader")  # back at the start


def test_edits_survive_another_screen(app: AppTest) -> None:
    _upload(app, THREE_MISTAKES)
    _delete_rows(app, [1, 2])
    app.switch_page("lib/userbatch/ui/users.py").run()
    app.switch_page("lib/userbatch/ui/batch/__init__.py").run()
    assert _grid_rows(app) == [2, 5]
    assert _counts(app)["Error"] == "0"


def test_a_file_error_is_one_message_with_re_upload(app: AppTest) -> None:
    _upload(app, b"Login ID,Nmae\r\nabcde,x\r\n")
    assert "cannot be checked" in literal(app.error[0].value)
    assert "The column 'Nmae' is unknown. Did you mean 'Name'?" in literal(app.error[1].value)
    app.button(key="reupload_after_error").click().run()
    assert app.button(key="upload_and_check").disabled


def test_the_encoding_can_be_chosen_again(app: AppTest) -> None:
    _upload(app, "Login ID,Name\r\ntanaka01,田中\r\n".encode("cp932"))
    assert "Encoding (detected)" in [box.label for box in app.selectbox]
    assert app.selectbox(key=keys.encoding(0)).value == "cp932"
    app.selectbox(key=keys.encoding(0)).select("utf-8").run()
    assert "cannot be read as UTF-8" in literal(app.error[1].value)


def test_execute_stores_and_queues_the_batch(
    app: AppTest, world: World, clean_redis: Redis
) -> None:
    _upload(app, CLEAN)
    app.button(key="execute").click().run()
    assert "1 of the 2 new users get one" in " ".join(c.value for c in app.caption)
    app.checkbox(key="invite").check().run()
    assert app.text[0].value.startswith("Dear Tanaka,")  # the preview
    app.button(key="execute_confirm").click().run()
    assert not app.exception
    assert "is stored and queued: 2 rows" in literal(app.success[0].value)
    with session(world.engine) as db:
        stored = db.scalars(select(Batch)).one()
    assert stored.state == "queued" and stored.options["invite"] is True
    assert Queue(QUEUE_NAME, connection=clean_redis).job_ids == [stored.job_id]


def test_a_send_time_in_the_past_is_refused(app: AppTest) -> None:
    import datetime as dt

    _upload(app, CLEAN)
    app.button(key="execute").click().run()
    app.checkbox(key="invite").check().run()
    app.radio(key="send_when").set_value("Later").run()
    app.date_input(key="send_date").set_value(dt.date.today() - dt.timedelta(days=1)).run()
    assert "That time has passed" in literal(app.error[0].value)
    assert not [b for b in app.button if b.key == "execute_confirm"]


def test_a_manager_works_in_their_subtree(
    world: World, use_env: Callable[[Settings], None]
) -> None:
    use_env(world.settings)
    manager = world.manager("sales-lead", "Sales")
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    app.session_state[keys.SESSION_ID] = world.session_for(manager)
    app.run()
    assert app.sidebar.selectbox(key=keys.WORKING_GROUP).options == ["Sales", "Sales>>Tokyo"]
    _upload(app, b"Login ID,Name,Belong to\r\ntanaka01,T,Support\r\nsuzuki01,S,\r\n")
    assert _counts(app) == {"New": "1", "Update": "0", "Unchanged": "0", "Error": "1"}
    assert "outside your groups" in app.data_editor[0].value["Problems"].tolist()[0]
    draft = restore_draft(world.engine, world.settings, manager)
    assert draft is not None and draft.result.options.working_group.path == "Sales"


def _edit_invitation(app: AppTest, data: bytes) -> AppTest:
    _upload(app, data)
    app.button(key="execute").click().run()
    app.checkbox(key="invite").check().run()
    return app.toggle(key="edit_template").set_value(True).run()


def test_an_admin_may_save_the_edited_invitation_as_the_template(
    app: AppTest, world: World
) -> None:
    _edit_invitation(app, CLEAN)
    [template] = list_templates(world.engine)
    app.text_area(key=f"body-{template.id}").input("Hi {{ name }}, {{ set_password_url }}").run()
    app.checkbox(key="save_template").check().run()
    assert not app.exception and not app.error
    assert list_templates(world.engine)[0].body == "Hi {{ name }}, {{ set_password_url }}"


def test_a_manager_edits_the_invitation_for_the_batch_only(
    world: World, use_env: Callable[[Settings], None]
) -> None:
    use_env(world.settings)
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    app.session_state[keys.SESSION_ID] = world.session_for(world.manager("sales-lead", "Sales"))
    app.run()
    _edit_invitation(app, b"Login ID,Name,Email\r\ntanaka01,Tanaka,tanaka@example.com\r\n")
    assert app.text_area[0].label == "Body"
    assert not [box for box in app.checkbox if box.key == "save_template"]
