"""lib/userbatch/ui/users.py through AppTest."""

from __future__ import annotations

from collections.abc import Callable

from streamlit.testing.v1 import AppTest

from tests.conftest import World
from tests.helpers import literal
from userbatch.admin.users import search_users


def test_search_and_filter(people: World, open_screen: Callable[..., AppTest]) -> None:
    app = open_screen("lib/userbatch/ui/users.py")
    assert not app.exception
    assert app.dataframe[0].value["Login ID"].tolist() == ["kato0003", "sato0002"]
    app.text_input(key="users_search").input("sato").run()
    assert app.dataframe[0].value["Login ID"].tolist() == ["sato0002"]
    app.text_input(key="users_search").input("").run()
    app.selectbox(key="users_group").select("Support").run()
    assert app.dataframe[0].value["Belong to"].tolist() == ["Support"]
    assert [b.label for b in app.download_button] == ["User download"]


def test_a_user_is_opened_and_its_login_id_changed(
    people: World, open_screen: Callable[..., AppTest]
) -> None:
    app = open_screen("lib/userbatch/ui/users.py")
    kato = search_users(people.engine, scope_path="", text="kato")[0][0]
    app.selectbox(key="open_user").select(kato.id).run()
    detail = dict(app.dataframe[1].value.itertuples(index=False))
    assert (detail["Login ID"], detail["Name"], detail["Belong to"]) == (
        "kato0003",
        "Kato",
        "Support",
    )
    assert "Password" not in detail and detail["First login"] == ""
    key = f"edit_login_id_{kato.id}"
    app.text_input(key=key).input("kato2024")
    app = app.button(key="FormSubmitter:edit_user-Change login ID").click().run()
    assert literal(app.success[0].value) == "The login ID is now 'kato2024'."
    assert dict(app.dataframe[1].value.itertuples(index=False))["Login ID"] == "kato2024"
    app.text_input(key=key).input("sato0002")
    app = app.button(key="FormSubmitter:edit_user-Change login ID").click().run()
    assert "belongs to another user" in literal(app.error[0].value)


def test_an_empty_installation_offers_demo_data_to_admins(
    world: World, open_screen: Callable[..., AppTest]
) -> None:
    manager_app = open_screen("lib/userbatch/ui/users.py", operator=world.manager("mgr", "Sales"))
    assert not [b for b in manager_app.button if b.key == "load_demo"]
    app = open_screen("lib/userbatch/ui/users.py")
    assert "There are no users yet." in app.markdown[0].value
    app = app.button(key="load_demo").click().run()
    assert literal(app.success[0].value).startswith("Loaded 50 demo users.")
    assert not [b for b in app.button if b.key == "load_demo"]
    assert len(app.dataframe[0].value) == 50
