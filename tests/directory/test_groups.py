"""The group tree: create, rename, move, delete, within an operator's scope."""

from __future__ import annotations

import re

import pytest

from tests.conftest import World
from userbatch.directory.groups import (
    add_group,
    add_subgroup,
    delete_group,
    find_group,
    group_tree,
    groups_in_scope,
    move_group,
    rename_group,
)
from userbatch.errors import UserbatchError


def _paths(world: World) -> list[str]:
    return [g.path for g in groups_in_scope(world.engine, "")]


def test_the_tree_counts_users_and_subgroups(world: World) -> None:
    world.add_user("tanaka01", groups=("Sales",))
    tree = {
        node.path: (node.depth, node.members, node.subgroups)
        for node in group_tree(world.engine, "")
    }
    assert tree == {
        "": (0, 0, 2),
        "Sales": (1, 1, 1),
        "Sales>>Tokyo": (2, 0, 0),
        "Support": (1, 0, 0),
    }


def test_rename_carries_the_subgroups_along(world: World) -> None:
    rename_group(world.engine, world.groups["Sales"].id, "Marketing", scope_path="")
    assert _paths(world) == ["", "Marketing", "Marketing>>Tokyo", "Support"]


def test_move_carries_the_subgroups_along(world: World) -> None:
    add_group(world.engine, "Sales>>Tokyo>>Shibuya")
    move_group(
        world.engine, world.groups["Sales>>Tokyo"].id, world.groups["Support"].id, scope_path=""
    )
    assert _paths(world) == ["", "Sales", "Support", "Support>>Tokyo", "Support>>Tokyo>>Shibuya"]


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (
            lambda w: rename_group(
                w.engine, w.groups["Sales>>Tokyo"].id, "Bad|Name", scope_path=""
            ),
            "must not contain '|'",
        ),
        (
            lambda w: rename_group(w.engine, w.groups["Support"].id, "Sales", scope_path=""),
            "has a subgroup named 'Sales' already",
        ),
        (
            lambda w: move_group(
                w.engine, w.groups["Sales"].id, w.groups["Sales>>Tokyo"].id, scope_path=""
            ),
            "cannot move into itself",
        ),
        (
            lambda w: move_group(w.engine, w.groups[""].id, w.groups["Support"].id, scope_path=""),
            "cannot be moved",
        ),
        (lambda w: delete_group(w.engine, w.groups["Sales"].id, scope_path=""), "it has subgroups"),
        (lambda w: delete_group(w.engine, w.groups[""].id, scope_path=""), "cannot be deleted"),
    ],
)
def test_refusals_say_why(world: World, action: object, message: str) -> None:
    assert callable(action)
    with pytest.raises(UserbatchError, match=message):
        action(world)


def test_create_one_name_under_a_parent(world: World) -> None:
    created = add_subgroup(world.engine, world.groups["Sales"].id, " Osaka ", scope_path="")
    assert (created.name, created.path) == ("Osaka", "Sales>>Osaka")
    add_subgroup(world.engine, world.groups[""].id, "Research", scope_path="")
    assert _paths(world) == ["", "Research", "Sales", "Sales>>Osaka", "Sales>>Tokyo", "Support"]


_TREE = ["", "Sales", "Sales>>Tokyo", "Support"]
_WITH_BARS = "must not contain '|'; 'A||B' does ('||' separates groups in a CSV cell)"


@pytest.mark.parametrize("path", ["Support", " Sales >> Tokyo "])
def test_adding_a_path_that_exists_is_refused(world: World, path: str) -> None:
    taken = path.replace(" ", "")
    with pytest.raises(UserbatchError, match=re.escape(f"The group '{taken}' exists already")):
        add_group(world.engine, path)
    assert _paths(world) == _TREE


@pytest.mark.parametrize(
    ("parent", "name", "message"),
    [
        ("", "Support", "The group 'Support' exists already"),
        ("Sales", "Tokyo ", "The group 'Sales>>Tokyo' exists already"),
        ("", "A>>B", "must not contain '>>'; 'A>>B' does"),
        ("Sales", "A||B", _WITH_BARS),
    ],
)
def test_a_taken_or_path_like_name_is_not_created(
    world: World, parent: str, name: str, message: str
) -> None:
    with pytest.raises(UserbatchError, match=re.escape(message)):
        add_subgroup(world.engine, world.groups[parent].id, name, scope_path="")
    assert _paths(world) == _TREE


@pytest.mark.parametrize(
    ("name", "message"), [("A>>B", "must not contain '>>'; 'A>>B' does"), ("A||B", _WITH_BARS)]
)
def test_a_group_is_not_renamed_to_a_path(world: World, name: str, message: str) -> None:
    with pytest.raises(UserbatchError, match=re.escape(message)):
        rename_group(world.engine, world.groups["Support"].id, name, scope_path="")
    assert _paths(world) == _TREE


def test_delete_an_empty_group_but_not_one_with_users(world: World) -> None:
    world.add_user("tanaka01", groups=("Support",))
    with pytest.raises(UserbatchError, match=r"1 user\(s\) belong to it"):
        delete_group(world.engine, world.groups["Support"].id, scope_path="")
    delete_group(world.engine, world.groups["Sales>>Tokyo"].id, scope_path="")
    assert _paths(world) == ["", "Sales", "Support"]


def test_a_manager_is_kept_to_the_subtree(world: World) -> None:
    manager = world.manager("sales-lead", "Sales")
    scope = manager.scope_path
    with pytest.raises(UserbatchError, match="outside your groups"):
        rename_group(world.engine, world.groups["Support"].id, "Help", scope_path=scope)
    with pytest.raises(UserbatchError, match="outside your groups"):
        move_group(
            world.engine,
            world.groups["Sales>>Tokyo"].id,
            world.groups["Support"].id,
            scope_path=scope,
        )
    with pytest.raises(UserbatchError, match="outside your groups"):
        add_group(world.engine, "Support>>Desk", scope_path=scope)
    with pytest.raises(UserbatchError, match="outside your groups"):
        add_subgroup(world.engine, world.groups["Support"].id, "Desk", scope_path=scope)
    with pytest.raises(UserbatchError, match="renamed by an administrator"):
        rename_group(world.engine, world.groups["Sales"].id, "Shop", scope_path=scope)
    add_group(world.engine, "Sales>>Osaka", scope_path=scope)
    move_group(
        world.engine,
        world.groups["Sales>>Tokyo"].id,
        find_group(world.engine, "Sales>>Osaka").id,
        scope_path=scope,
    )
    assert [g.path for g in groups_in_scope(world.engine, scope)] == [
        "Sales",
        "Sales>>Osaka",
        "Sales>>Osaka>>Tokyo",
    ]
