"""views/users.py through AppTest."""

from __future__ import annotations

from collections.abc import Callable

from streamlit.testing.v1 import AppTest

from tests.conftest import World
from userbatch.users import search_users


def test_search_and_filter(people: World, open_screen: Callable[..., AppTest]) -> None:
    app = open_screen("views/users.py")
    assert not app.exception
    assert app.dataframe[0].value["Login ID"].tolist() == ["kato0003", "sato0002"]
    app.text_input(key="users_search").input("sato").run()
    assert app.dataframe[0].value["Login ID"].tolist() == ["sato0002"]
    app.text_input(key="users_search").input("").run()
    app.selectbox(key="users_group").select("Support").run()
    assert app.dataframe[0].value["Belong to"].tolist() == ["Support"]
    assert [b.label for b in app.download_button] == ["User download"]


def test_edit_user_changes_a_login_id(people: World, open_screen: Callable[..., AppTest]) -> None:
    app = open_screen("views/users.py")
    kato = search_users(people.engine, scope_path="", text="kato")[0][0]
    app.selectbox(key="edit_user").select(kato.id)
    app.text_input(key="edit_login_id").input("kato2024")
    app.button[0].click().run()
    assert app.success[0].value == "'kato0003' is now 'kato2024'."
    app.text_input(key="edit_login_id").input("sato0002")
    app.button[0].click().run()
    assert "belongs to another user" in app.error[0].value
