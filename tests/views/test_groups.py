"""views/groups.py through AppTest."""

from __future__ import annotations

from collections.abc import Callable

from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, World
from userbatch.groups import groups_in_scope
from userbatch.models import utcnow
from userbatch.settings import Settings
from userbatch.ui import session as ui_session


def _open(world: World, use_env: Callable[[Settings], None]) -> AppTest:
    use_env(world.settings)
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    app.session_state[ui_session.OPERATOR_ID] = world.admin.id
    app.session_state[ui_session.LAST_SEEN] = utcnow()
    app.run()
    return app.switch_page("views/groups.py").run()


def test_the_tree_and_creating_a_group(world: World, use_env: Callable[[Settings], None]) -> None:
    app = _open(world, use_env)
    assert not app.exception
    assert app.dataframe[0].value["Path"].tolist() == ["", "Sales", "Sales>>Tokyo", "Support"]
    app.selectbox(key="create_parent").select(world.groups["Sales"].id)
    app.text_input(key="create_name").input("Osaka")
    app.button[0].click().run()
    assert app.success[0].value == "Created Sales>>Osaka."
    assert "Sales>>Osaka" in [g.path for g in groups_in_scope(world.engine, "")]


def test_a_refusal_is_shown(world: World, use_env: Callable[[Settings], None]) -> None:
    world.add_user("tanaka01", groups=("Support",))
    app = _open(world, use_env)
    app.selectbox(key="delete_group").select(world.groups["Support"].id)
    app.button[3].click().run()
    assert "'Support' cannot be deleted: 1 user(s) belong to it." in app.error[0].value
