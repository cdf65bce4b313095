"""lib/userbatch/ui/groups.py through AppTest."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import World
from tests.helpers import literal
from userbatch.directory.groups import groups_in_scope


def test_the_tree_and_creating_a_group(world: World, open_screen: Callable[..., AppTest]) -> None:
    app = open_screen("lib/userbatch/ui/groups.py")
    assert not app.exception
    assert app.dataframe[0].value["Path"].tolist() == ["", "Sales", "Sales>>Tokyo", "Support"]
    app.selectbox(key="create_parent").select(world.groups["Sales"].id)
    app.text_input(key="create_name").input("Osaka")
    app.button[0].click().run()
    assert literal(app.success[0].value) == "Created Sales>>Osaka."
    assert "Sales>>Osaka" in [g.path for g in groups_in_scope(world.engine, "")]


def test_a_refusal_is_shown(world: World, open_screen: Callable[..., AppTest]) -> None:
    world.add_user("tanaka01", groups=("Support",))
    app = open_screen("lib/userbatch/ui/groups.py")
    app.selectbox(key="delete_group").select(world.groups["Support"].id)
    app.button[3].click().run()
    assert "'Support' cannot be deleted: 1 user(s) belong to it." in literal(app.error[0].value)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Support", "The group 'Support' exists already; nothing was created."),
        ("A>>B", "A group name must not contain '>>'; 'A>>B' does"),
        ("A||B", "A group name must not contain '|'; 'A||B' does ('||' separates groups"),
    ],
)
def test_creating_a_taken_or_path_like_name_is_refused(
    world: World, open_screen: Callable[..., AppTest], name: str, message: str
) -> None:
    app = open_screen("lib/userbatch/ui/groups.py")
    app.selectbox(key="create_parent").select(world.groups[""].id)
    app.text_input(key="create_name").input(name)
    app.button[0].click().run()
    assert not app.success
    assert message in literal(app.error[0].value)
    assert [g.path for g in groups_in_scope(world.engine, "")] == [
        "",
        "Sales",
        "Sales>>Tokyo",
        "Support",
    ]
