"""lib/userbatch/ui/operators.py through AppTest."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, World
from tests.helpers import literal
from userbatch.admin.operators import add_operator, change_role, list_operators
from userbatch.directory import auth, sessions
from userbatch.settings import Settings
from userbatch.ui import clock, keys

PASSWORD = "correct-horse-7"
SCREEN = "lib/userbatch/ui/operators.py"


def _table(app: AppTest) -> list[tuple[str, str, str, str]]:
    frame = app.dataframe[0].value
    return list(zip(frame["Login"], frame["Role"], frame["Manages"], frame["Status"], strict=True))


def test_the_list_and_adding_a_manager(world: World, open_screen: Callable[..., AppTest]) -> None:
    world.manager("tokyo-lead", "Sales>>Tokyo")
    app = open_screen(SCREEN)
    assert not app.exception
    assert _table(app) == [
        ("admin", "admin", "Whole organisation", "Enabled"),
        ("tokyo-lead", "manager", "Sales>>Tokyo", "Enabled"),
    ]
    # Only real groups below the organisation can be a manager's scope.
    assert app.selectbox(key="add_scope").options == ["Sales", "Sales>>Tokyo", "Support"]
    app.text_input(key="add_login").input("support-lead")
    app.selectbox(key="add_role").select("manager")
    app.selectbox(key="add_scope").select("Support")
    app.text_input(key="add_password").input(PASSWORD)
    app.text_input(key="add_confirm").input(PASSWORD)
    app.button(key="add_submit").click().run()
    assert not app.error
    assert [literal(s.value) for s in app.success] == ["Added manager 'support-lead'."]
    assert ("support-lead", "manager", "Support", "Enabled") in _table(app)
    assert app.text_input(key="add_login").value == ""  # the form is ready for the next one
    assert auth.sign_in(world.engine, "support-lead", PASSWORD).scope_path == "Support"


def test_change_role_reset_password_and_disable(
    world: World, open_screen: Callable[..., AppTest]
) -> None:
    lead = world.manager("lead", "Sales")
    app = open_screen(SCREEN)
    app.selectbox(key="role_operator").select(lead.id)
    app.selectbox(key="role_role").select("manager")
    app.selectbox(key="role_scope").select("Sales>>Tokyo")
    app.button(key="role_submit").click().run()
    assert [literal(s.value) for s in app.success] == ["'lead' is now a manager of Sales>>Tokyo."]

    app.selectbox(key="reset_operator").select(lead.id)
    app.text_input(key="reset_password").input("battery-staple-9")
    app.text_input(key="reset_confirm").input("battery-staple-9")
    app.button(key="reset_submit").click().run()
    assert "The password of 'lead' is reset" in literal(app.success[0].value)
    assert auth.sign_in(world.engine, "lead", "battery-staple-9").scope_path == "Sales>>Tokyo"

    app.selectbox(key="disable_operator").select(lead.id)
    app.button(key="disable").click().run()
    assert [literal(s.value) for s in app.success] == ["'lead' is disabled."]
    assert ("lead", "manager", "Sales>>Tokyo", "Disabled") in _table(app)
    assert auth.get_operator(world.engine, lead.id) is None


def test_refusals_are_shown(world: World, open_screen: Callable[..., AppTest]) -> None:
    app = open_screen(SCREEN)
    app.selectbox(key="disable_operator").select(world.admin.id)
    app.button(key="disable").click().run()
    assert [literal(e.value) for e in app.error] == [
        "'admin' is the last enabled administrator and cannot be disabled; make another "
        "operator an administrator first."
    ]
    app.text_input(key="add_login").input("admin")
    app.text_input(key="add_password").input(PASSWORD)
    app.text_input(key="add_confirm").input(PASSWORD)
    app.button(key="add_submit").click().run()
    assert [literal(e.value) for e in app.error] == [
        "The login 'admin' belongs to another operator already."
    ]
    assert app.text_input(key="add_login").value == "admin"  # kept, to be corrected
    app.text_input(key="add_confirm").input(PASSWORD + "x")
    app.button(key="add_submit").click().run()
    assert [literal(e.value) for e in app.error] == ["The two passwords differ."]
    assert [row.login for row in list_operators(world.engine, world.admin)] == ["admin"]


def test_a_manager_who_reaches_the_screen_sees_no_operator_data(
    world: World, use_env: Callable[[Settings], None]
) -> None:
    use_env(world.settings)
    manager = world.manager("lead", "Sales")
    # The navigation offers a manager no Operators screen; run the screen itself regardless.
    app = AppTest.from_file(str(ROOT / SCREEN), default_timeout=60)
    app.session_state[keys.SESSION_ID] = world.session_for(manager)
    app.run()
    assert not app.exception
    assert [literal(e.value) for e in app.error] == ["Only an administrator can manage operators."]
    assert not app.dataframe and not app.text_input and not app.button and not app.selectbox


def test_an_admin_demoted_meanwhile_is_signed_out(
    world: World, open_screen: Callable[..., AppTest]
) -> None:
    other = add_operator(
        world.engine, world.admin, login="other", password=PASSWORD, role="admin",
        min_password_length=8,
    )  # fmt: skip
    acting = auth.get_operator(world.engine, other.id)
    app = open_screen(SCREEN, acting)
    assert app.title[0].value == "Operators"
    change_role(world.engine, world.admin, operator_id=other.id, role="manager", scope_path="Sales")
    app.run()
    assert app.title[0].value == "Sign in to userbatch"
    assert [literal(info.value) for info in app.info] == [sessions.ENDED]
    assert not any("Login" in frame.value.columns for frame in app.dataframe)


def test_times_are_shown_in_the_browsers_time_zone(
    open_screen: Callable[..., AppTest], monkeypatch: pytest.MonkeyPatch
) -> None:
    # As a browser in Tokyo reports itself.
    monkeypatch.setattr(type(clock.st.context), "timezone", property(lambda _: "Asia/Tokyo"))
    app = open_screen(SCREEN)
    config = json.loads(app.dataframe[0].proto.columns)
    assert config["Created"]["type_config"]["timezone"] == "Asia/Tokyo"
    assert "Times are in Asia/Tokyo (your browser's time zone)." in [c.value for c in app.caption]
