"""Finding users page by page, and Edit user's login ID change."""

from __future__ import annotations

import pytest

from tests.conftest import World
from userbatch.admin.users import change_login_id, search_users, user_detail
from userbatch.errors import UserbatchError


@pytest.fixture
def many(people: World) -> World:
    for n in range(60):
        people.add_user(
            f"tokyo{n:03d}",
            name=f"Tokyo Person {n}",
            email=f"t{n}@example.com",
            groups=("Sales>>Tokyo",),
        )
    return people


def test_pages_and_totals(many: World) -> None:
    users, total = search_users(many.engine, scope_path="", page=2, page_size=25)
    assert total == 62
    assert [u.login_id for u in users][:2] == ["tokyo023", "tokyo024"]


@pytest.mark.parametrize(
    ("page", "first", "shown"),
    [(1, "tokyo000", 25), (3, "tokyo050", 10), (4, None, 0), (9, None, 0)],
)
def test_a_search_counts_every_match_on_every_page(
    many: World, page: int, first: str | None, shown: int
) -> None:
    users, total = search_users(many.engine, scope_path="", text="TOKYO", page=page, page_size=25)
    assert total == 60 and len(users) == shown
    assert (users[0].login_id if users else None) == first


@pytest.mark.parametrize(
    ("options", "expected_total"),
    [
        ({"text": "SATO"}, 1),  # login ID or name, any case
        ({"text": "t5@example"}, 1),  # e-mail
        ({"text": "person 1"}, 11),
        ({"group_path": "Sales"}, 61),  # a group and below
        ({"group_path": "Support"}, 1),
        ({"status": "suspended"}, 0),
        ({"text": "%"}, 0),  # wildcards are literal
    ],
)
def test_filters(many: World, options: dict[str, str], expected_total: int) -> None:
    assert search_users(many.engine, scope_path="", **options)[1] == expected_total


def test_a_manager_finds_only_their_users(many: World) -> None:
    manager = many.manager("support-lead", "Support")
    users, total = search_users(many.engine, scope_path=manager.scope_path)
    assert total == 1 and users[0].login_id == "kato0003"
    with pytest.raises(UserbatchError, match="outside your groups"):
        search_users(many.engine, scope_path=manager.scope_path, group_path="Sales")


def test_edit_user_changes_the_login_id(people: World) -> None:
    kato = search_users(people.engine, scope_path="", text="kato")[0][0]
    change_login_id(people.engine, kato.id, "ｋａｔｏ2024", scope_path="")
    assert search_users(people.engine, scope_path="", text="kato")[0][0].login_id == "kato2024"


@pytest.mark.parametrize(
    ("login_id", "scope", "message"),
    [
        ("ab1", "", "must be 5–30 characters"),
        ("sato0002", "", "belongs to another user"),
        ("kato 2024", "", "may contain only"),
        ("kato2024", "Sales", "outside your groups"),
    ],
)
def test_edit_user_refuses(people: World, login_id: str, scope: str, message: str) -> None:
    kato = search_users(people.engine, scope_path="", text="kato")[0][0]
    with pytest.raises(UserbatchError, match=message):
        change_login_id(people.engine, kato.id, login_id, scope_path=scope)


def test_a_user_opens_with_every_column_but_the_password(people: World) -> None:
    sato = search_users(people.engine, scope_path="", text="sato")[0][0]
    detail = user_detail(people.engine, sato.id, people.columns(), scope_path="Sales")
    assert list(detail.values) == [
        "login_id", "name", "display_name", "email", "department", "position", "status",
        "expiration_date", "belong_to",
    ]  # fmt: skip
    assert (detail.values["email"], detail.values["status"], detail.values["belong_to"]) == (
        "sato@example.com", "Valid", "Sales",
    )  # fmt: skip
    assert detail.first_login == "" and detail.created_at
    with pytest.raises(UserbatchError, match="outside your groups"):
        user_detail(people.engine, sato.id, people.columns(), scope_path="Support")
