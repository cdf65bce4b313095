"""The batch screen's choices (blank cells, a complete list) and the mass-change guard of the
Execute dialog, through AppTest."""

from __future__ import annotations

from collections.abc import Callable

from redis import Redis
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, World
from tests.views.test_batch_upload import _counts, _expander, _upload
from userbatch.db import session
from userbatch.models import Batch
from userbatch.models.drafts import Draft
from userbatch.settings import Settings
from userbatch.ui import keys

PARTIAL = b"Login ID,Name,Department\r\nsato0002,Sato,\r\ntanaka01,Tanaka,\r\n"


def _open(world: World, use_env: Callable[[Settings], None]) -> AppTest:
    use_env(world.settings)
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    app.session_state[keys.SESSION_ID] = world.session_for()
    return app.run()


def _people(world: World, n: int) -> None:
    world.add_user("sato0002", name="Sato", department="Sales", groups=("Sales",))
    for i in range(n):
        world.add_user(f"user{i:04d}", name=f"User {i}", groups=("Sales",))


def test_blank_cells_keep_unless_clear_is_chosen_and_the_draft_remembers(
    world: World, use_env: Callable[[Settings], None]
) -> None:
    _people(world, 0)
    app = _upload(_open(world, use_env), PARTIAL)
    assert _counts(app) == {"New": "1", "Update": "0", "Unchanged": "1", "Error": "0"}
    app.radio(key=keys.BLANK_CELLS).set_value("clear").run()
    assert _counts(app)["Update"] == "1"
    with session(world.engine) as db:
        assert db.scalars(select(Draft.blank)).one() == "clear"
    again = _open(world, use_env)  # a reload: the draft comes back as it was left
    assert again.radio(key=keys.BLANK_CELLS).value == "clear"
    assert _counts(again)["Update"] == "1"


def test_a_complete_list_shows_who_will_be_suspended_and_the_guard_asks_for_the_number(
    world: World, use_env: Callable[[Settings], None], clean_redis: Redis
) -> None:
    world.settings = world.settings.model_copy(update={"mass_change_min_users": 2})
    _people(world, 3)
    app = _upload(_open(world, use_env), PARTIAL)
    app.checkbox(key=keys.COMPLETE_LIST).check().run()
    assert _counts(app)["Suspend"] == "3"
    listed = _expander(app, "Not in the file: 3 user(s) will be suspended")
    assert listed.dataframe[0].value["Key"].tolist() == ["user0000", "user0001", "user0002"]
    app.button(key=keys.EXECUTE).click().run()
    assert "3 users will be suspended." in app.warning[0].value
    assert app.button(key=keys.EXECUTE_CONFIRM).disabled
    app.text_input(key=keys.CONFIRM_COUNT).input("2").run()
    assert app.button(key=keys.EXECUTE_CONFIRM).disabled
    app.text_input(key=keys.CONFIRM_COUNT).input("3").run()
    app.button(key=keys.EXECUTE_CONFIRM).click().run()
    assert not app.exception
    with session(world.engine) as db:
        batch = db.scalars(select(Batch)).one()
    assert batch.options["complete"] is True and batch.total == 5
