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
from tests.helpers import grid_column, held_slot, literal, sheet_grid
from userbatch.batches.drafts import restore_draft
from userbatch.check.slots import server_slots
from userbatch.db import session
from userbatch.mail.templates import list_templates
from userbatch.models import Batch
from userbatch.settings import Settings
from userbatch.ui import keys
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
    return [row["row"] for row in sheet_grid(app)["rows"]]


def _send(app: AppTest, *events: dict[str, Any], ticked: list[int] | None = None) -> AppTest:
    """The grid's state as the browser sends it after these events: its log keeps the
    events sent before, numbered, which the page must not take twice."""
    key = keys.grid(app.session_state[keys.DRAFT_SHOWN])
    value = app.session_state.get(key, {}) or {}
    log = value.get("log") or {"id": "tab-1", "events": []}
    last = max((event["seq"] for event in log["events"]), default=0)
    numbered = [{"seq": last + n, **event} for n, event in enumerate(events, start=1)]
    app.session_state[key] = {
        "log": {"id": log["id"], "events": [*log["events"], *numbered]},
        "ticked": value.get("ticked") or [] if ticked is None else ticked, "selection": [],
    }  # fmt: skip
    return app.run()


def _edit(app: AppTest, *cells: tuple[int, str, str]) -> AppTest:
    return _send(app, {"op": "edit", "cells": [list(cell) for cell in cells]})


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
    rows = sheet_grid(app)["rows"]
    assert [row["status"] for row in rows] == ["new", "error", "error", "new"]
    # The mark is on the bad cell itself, with its message.
    marked = [[], ["email", "login_id"], ["belong_to", "name"], []]
    assert [sorted(row["marks"]) for row in rows] == marked
    mark = rows[1]["marks"]["login_id"]
    assert mark["level"] == "error"
    assert literal(mark["messages"][0]["text"]) == "Login ID must be 5–30 characters; 'ab1' has 3."
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


def _delete_rows(app: AppTest, rows: list[int]) -> AppTest:
    """Tick these rows in the grid and press "Delete ticked rows"."""
    _send(app, ticked=rows)
    return app.button(key=keys.DELETE_TICKED).click().run()


def test_an_edit_is_checked_at_once_and_deleting_clears_the_rest(app: AppTest) -> None:
    _upload(app, THREE_MISTAKES)
    _edit(app, (3, "login_id", "sato0002"), (3, "email", "sato@example.com"))
    assert _counts(app) == {"New": "3", "Update": "0", "Unchanged": "0", "Error": "1"}
    grid = sheet_grid(app)
    assert grid["ack"]["seq"] == 1  # the browser may forget the edit: it was taken
    assert grid["rows"][1]["status"] == "new" and not grid["rows"][1]["marks"]
    assert grid_column(app, "login_id")[1] == "sato0002"
    app.run()  # the same log again: nothing is taken twice
    assert _counts(app)["New"] == "3"
    _delete_rows(app, [4])
    assert _grid_rows(app) == [2, 3, 5]
    assert _counts(app)["Error"] == "0"
    assert not app.button(key="execute").disabled


def test_undo_and_redo_are_kept_in_the_draft(app: AppTest, world: World) -> None:
    _upload(app, THREE_MISTAKES)
    before = _counts(app)
    _edit(app, (3, "login_id", "sato0002"), (3, "email", "sato@example.com"))
    assert sheet_grid(app)["undo"] and not sheet_grid(app)["redo"]
    _send(app, {"op": "undo"})
    assert _counts(app) == before
    assert grid_column(app, "login_id")[1] == "ab1"
    assert sheet_grid(app)["redo"] and not sheet_grid(app)["undo"]
    _send(app, {"op": "redo"})
    assert _counts(app)["Error"] == "1"
    draft = restore_draft(world.engine, world.settings, world.admin)
    assert draft is not None and len(draft.history.undo) == 1 and not draft.history.redo
    assert draft.result.table.cells.at[3, "login_id"] == "sato0002"


def test_apply_to_all_fixes_every_cell_like_it_in_one_step(app: AppTest) -> None:
    _upload(app, b"Login ID,Name,Belong to\r\n" + b"".join(
        b"user%04d,U,Sales>>Tokio\r\n" % n for n in range(3)
    ) + b"user0009,U,Sales>>Tokiyo\r\n")  # fmt: skip
    mark = sheet_grid(app)["rows"][0]["marks"]["belong_to"]
    assert (mark["suggestion"], mark["like"], mark["code"]) == ("Sales>>Tokyo", 3, "unknown_group")
    _send(app, {"op": "apply_all", "row": 2, "col": "belong_to", "code": mark["code"]})
    assert grid_column(app, "belong_to") == ["Sales>>Tokyo"] * 3 + ["Sales>>Tokiyo"]
    _send(app, {"op": "undo"})
    assert grid_column(app, "belong_to") == ["Sales>>Tokio"] * 3 + ["Sales>>Tokiyo"]


def test_suggested_fixes_one_kind_or_all_at_once(app: AppTest) -> None:
    _upload(app, b"Login ID,Name,Status,Belong to\r\n" + b"".join(
        b"user%04d,U,Vaild,Sales>>Tokio\r\n" % n for n in range(3)
    ) + b"user0009,U,,Suport\r\n")  # fmt: skip
    fixes = next(b for b in app.get("popover") if b.proto.popover.label.startswith("Suggested"))
    assert fixes.proto.popover.label == "Suggested fixes (7)"
    assert "Belong to: Sales>>Tokio → **Sales>>Tokyo** (3)" in literal(fixes.markdown[1].value)
    app.button(key=keys.apply_fix(1)).click().run()  # the groups, in file order
    assert grid_column(app, "belong_to") == ["Sales>>Tokyo"] * 3 + ["Suport"]
    assert grid_column(app, "status") == ["Vaild"] * 3 + [""]
    app.button(key=keys.APPLY_EVERY_FIX).click().run()
    assert grid_column(app, "status") == ["Valid"] * 3 + [""]
    assert grid_column(app, "belong_to")[3] == "Support"
    assert _counts(app)["Error"] == "0"
    _send(app, {"op": "undo"})  # all of them were one step
    assert grid_column(app, "status") == ["Vaild"] * 3 + [""]


def test_a_block_pasted_fills_cells_from_the_selected_one(app: AppTest) -> None:
    _upload(app, THREE_MISTAKES)
    block = [["sato0002", "Sato"], ["suzuki01", "Suzuki"], ["x", "y"], ["past", "the end"]]
    _send(app, {"op": "paste", "row": 3, "col": "login_id", "block": block})
    assert grid_column(app, "login_id") == ["tanaka01", "sato0002", "suzuki01", "x"]
    assert grid_column(app, "name") == ["Tanaka", "Sato", "Suzuki", "y"]
    assert "2 pasted cell(s) fell past the last row" in app.info[0].value
    _send(app, {"op": "undo"})  # the whole paste is one step
    assert grid_column(app, "name") == ["Tanaka", "Sato", "", "Yamada"]


def test_find_and_replace_previews_then_changes_in_one_step(app: AppTest) -> None:
    _upload(app, THREE_MISTAKES)
    app.selectbox(key=keys.REPLACE_COLUMN).select("email").run()
    app.text_input(key=keys.REPLACE_FIND).input("@example").run()
    app.text_input(key=keys.REPLACE_WITH).input("@example.org").run()
    [preview] = [m.value for m in app.markdown if "will change" in m.value]
    assert "**4 cell(s) will change**" in preview
    assert "Row 3, Email: sato@example → sato@example.org" in literal(preview)
    app.button(key=keys.REPLACE).click().run()
    assert grid_column(app, "email")[0] == "tanaka@example.org.com"
    _send(app, {"op": "undo"})
    assert grid_column(app, "email")[0] == "tanaka@example.com"


def test_next_error_goes_across_pages(app: AppTest) -> None:
    rows = [b"user%04d,User" % n if n not in (7, 80) else b"ab%d,User" % n for n in range(120)]
    _upload(app, b"Login ID,Name\r\n" + b"\r\n".join(rows) + b"\r\n")
    assert _counts(app)["Error"] == "2"
    _send(app, {"op": "next", "row": 9, "col": "login_id"})  # row 9 is the 7th user's
    assert app.session_state[keys.GRID_PAGE] == 2
    focus = sheet_grid(app)["focus"]
    assert (focus["row"], focus["col"]) == (82, "login_id")
    assert 82 in _grid_rows(app)
    _send(app, {"op": "next", "row": 82, "col": "login_id"})  # past the last: round to the first
    assert sheet_grid(app)["focus"]["row"] == 9 and app.session_state[keys.GRID_PAGE] == 1
    _send(app, {"op": "prev", "row": 9, "col": "login_id"})
    assert sheet_grid(app)["focus"]["row"] == 82


def test_passwords_are_marked_secret_and_their_message_hides_them(app: AppTest) -> None:
    _upload(app, b"Login ID,Name,Password\r\ntanaka01,Tanaka,abc\r\n")
    grid = sheet_grid(app)
    assert [c["key"] for c in grid["columns"] if c["secret"]] == ["password"]
    messages = grid["rows"][0]["marks"]["password"]["messages"]
    assert messages and all("abc" not in message["text"] for message in messages)


def test_a_file_of_unchanged_rows_has_nothing_to_execute(app: AppTest, world: World) -> None:
    world.add_user("tanaka01", name="Tanaka")
    _upload(app, b"Login ID,Name\r\ntanaka01,Tanaka\r\n")
    assert _counts(app) == {"New": "0", "Update": "0", "Unchanged": "1", "Error": "0"}
    assert app.button(key="execute").disabled
    assert "Nothing to register or update" in app.info[0].value


def test_leaving_after_changes_in_the_grid_asks_first(app: AppTest) -> None:
    _upload(app, THREE_MISTAKES)
    leaving = ("Re-upload", "Back to batch user registration/update")
    asks = [block for block in app.get("popover") if block.proto.popover.label in leaving]
    assert not asks  # nothing to lose yet: the buttons act at once
    _edit(app, (3, "login_id", "sato0002"))
    _delete_rows(app, [4])
    asking = [block for block in app.get("popover") if block.proto.popover.label == "Re-upload"]
    assert "Your 2 change(s) in the grid will be lost" in asking[0].markdown[0].value
    asking[0].button(key="reupload").click().run()
    assert app.get("file_uploader")  # back at the start


def test_edits_survive_another_screen(app: AppTest) -> None:
    _upload(app, THREE_MISTAKES)
    _delete_rows(app, [3, 4])
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
    assert "outside your groups" in str(sheet_grid(app)["rows"][0]["marks"])
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


def test_an_upload_waits_for_a_free_slot_or_is_refused_as_busy(
    world: World, use_env: Callable[[Settings], None]
) -> None:
    use_env(world.settings.model_copy(update={"checks_at_once": 1, "check_wait_seconds": 0}))
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    app.session_state[keys.SESSION_ID] = world.session_for()
    app.run()
    with held_slot(server_slots(1, world.settings.checks_per_operator), world.admin.id):
        _upload(app, CLEAN)
    errors = [element.value for element in app.error]
    assert "No slot to check the file came free within 0 seconds" in errors[1], errors
    assert errors[1].endswith("`busy`")
    assert app.button(key=keys.REUPLOAD_AFTER_ERROR)
    _upload(app.button(key=keys.REUPLOAD_AFTER_ERROR).click().run(), CLEAN)  # free now
    assert _counts(app)["New"] == "2"
