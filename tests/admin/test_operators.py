"""Managing operators: admins only, always one enabled admin, never oneself."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Engine, select, text

from tests.conftest import World
from tests.helpers import wait_until
from userbatch.admin.operators import (
    OperatorRow,
    add_operator,
    change_role,
    list_operators,
    reset_password,
    set_disabled,
)
from userbatch.db import session
from userbatch.directory import auth
from userbatch.directory.auth import OperatorInfo
from userbatch.errors import SignInError, UserbatchError
from userbatch.models import Operator

PASSWORD = "correct-horse-7"
NEW_PASSWORD = "battery-staple-9"


def _add(world: World, login: str, role: str = "manager", scope: str = "Sales") -> OperatorRow:
    return add_operator(
        world.engine, world.admin, login=login, password=PASSWORD, role=role, scope_path=scope,
        min_password_length=8,
    )  # fmt: skip


def _listed(world: World) -> dict[str, tuple[str, str, bool]]:
    return {
        row.login: (row.role, row.scope_path, row.disabled)
        for row in list_operators(world.engine, world.admin)
    }


def test_the_list_shows_every_operator(world: World) -> None:
    world.manager("tokyo-lead", "Sales>>Tokyo")
    rows = list_operators(world.engine, world.admin)
    assert [(r.login, r.role, r.scope_path, r.disabled, r.locked) for r in rows] == [
        ("admin", "admin", "", False, False),
        ("tokyo-lead", "manager", "Sales>>Tokyo", False, False),
    ]
    assert rows[0].created_at is not None and rows[1].last_sign_in_at is None


def test_add_a_manager_and_an_admin_who_then_sign_in(world: World) -> None:
    added = _add(world, " sales-lead ", scope=" Sales >> Tokyo ")
    assert (added.login, added.role, added.scope_path) == ("sales-lead", "manager", "Sales>>Tokyo")
    _add(world, "second-admin", role="admin", scope="")
    assert _listed(world) == {
        "admin": ("admin", "", False),
        "sales-lead": ("manager", "Sales>>Tokyo", False),
        "second-admin": ("admin", "", False),
    }
    signed_in = auth.sign_in(world.engine, "sales-lead", PASSWORD)
    assert (signed_in.role, signed_in.scope_path) == ("manager", "Sales>>Tokyo")
    assert auth.sign_in(world.engine, "second-admin", PASSWORD).is_admin
    with session(world.engine) as db:
        stored = db.scalars(select(Operator.password_hash).where(Operator.login == "sales-lead"))
        assert stored.one().startswith("$argon2id$")


@pytest.mark.parametrize(
    ("login", "password", "role", "scope", "message"),
    [
        ("", PASSWORD, "manager", "Sales", "The login must not be empty"),
        ("sales lead", PASSWORD, "manager", "Sales", "no spaces"),
        ("x" * 65, PASSWORD, "manager", "Sales", "at most 64 characters"),
        (
            "admin",
            PASSWORD,
            "manager",
            "Sales",
            "The login 'admin' belongs to another operator already",
        ),
        (
            "Admin",
            PASSWORD,
            "manager",
            "Sales",
            "'Admin' differs from the operator 'admin' only in case",
        ),
        ("lead", "short1", "manager", "Sales", "at least 8 characters; it has 6"),
        ("lead", "lettersonly", "manager", "Sales", "at least one letter and one digit"),
        ("lead", "xlead12345", "manager", "Sales", "must not contain the login ID"),
        ("lead", PASSWORD, "owner", "", "The role must be 'admin' or 'manager', not 'owner'"),
        ("lead", PASSWORD, "manager", "", "A manager needs the group they manage"),
        ("lead", PASSWORD, "manager", "Sales>>Osaka", "The group 'Sales>>Osaka' does not exist"),
        ("lead", PASSWORD, "admin", "Sales", "An administrator manages the whole organisation"),
    ],
)
def test_adding_refuses_and_says_why(
    world: World, login: str, password: str, role: str, scope: str, message: str
) -> None:
    with pytest.raises(UserbatchError, match=message):
        add_operator(
            world.engine, world.admin, login=login, password=password, role=role,
            scope_path=scope, min_password_length=8,
        )  # fmt: skip
    assert list(_listed(world)) == ["admin"]


def test_the_password_policy_follows_the_setting(world: World) -> None:
    with pytest.raises(UserbatchError, match="at least 12 characters; it has 11"):
        add_operator(
            world.engine, world.admin, login="lead", password="abcdefgh123", role="manager",
            scope_path="Sales", min_password_length=12,
        )  # fmt: skip


def test_change_role_and_scope(world: World) -> None:
    lead = _add(world, "lead")
    moved = change_role(
        world.engine, world.admin, operator_id=lead.id, role="manager", scope_path="Support"
    )
    assert (moved.role, moved.scope_path) == ("manager", "Support")
    change_role(world.engine, world.admin, operator_id=lead.id, role="admin")
    assert auth.get_operator(world.engine, lead.id) == OperatorInfo(lead.id, "lead", "admin", "")
    change_role(
        world.engine, world.admin, operator_id=lead.id, role="manager", scope_path="Sales>>Tokyo"
    )
    assert _listed(world)["lead"] == ("manager", "Sales>>Tokyo", False)
    with pytest.raises(UserbatchError, match="The group 'Nowhere' does not exist"):
        change_role(
            world.engine, world.admin, operator_id=lead.id, role="manager", scope_path="Nowhere"
        )
    with pytest.raises(UserbatchError, match="A manager needs the group"):
        change_role(world.engine, world.admin, operator_id=lead.id, role="manager")
    assert _listed(world)["lead"] == ("manager", "Sales>>Tokyo", False)


def test_a_reset_password_signs_in_the_old_one_does_not_and_the_lock_is_lifted(
    world: World,
) -> None:
    lead = _add(world, "lead")
    for _ in range(auth.MAX_FAILED_SIGN_INS):
        with pytest.raises(SignInError):
            auth.sign_in(world.engine, "lead", "wrong-pass-1")
    assert [row.locked for row in list_operators(world.engine, world.admin)] == [False, True]
    with pytest.raises(SignInError, match="locked"):
        auth.sign_in(world.engine, "lead", PASSWORD)

    with pytest.raises(UserbatchError, match="must not contain the login ID"):
        reset_password(
            world.engine, world.admin, operator_id=lead.id, password="lead-2024-x",
            min_password_length=8,
        )  # fmt: skip
    reset_password(
        world.engine, world.admin, operator_id=lead.id, password=NEW_PASSWORD,
        min_password_length=8,
    )  # fmt: skip
    assert [row.locked for row in list_operators(world.engine, world.admin)] == [False, False]
    with session(world.engine) as db:
        assert db.get_one(Operator, lead.id).failed_sign_ins == 0
    with pytest.raises(SignInError, match="Wrong login or password"):
        auth.sign_in(world.engine, "lead", PASSWORD)
    assert auth.sign_in(world.engine, "lead", NEW_PASSWORD).id == lead.id
    assert list_operators(world.engine, world.admin)[1].last_sign_in_at is not None


def test_a_disabled_operator_cannot_sign_in_and_is_signed_out(world: World) -> None:
    lead = _add(world, "lead")
    assert set_disabled(world.engine, world.admin, operator_id=lead.id, disabled=True).disabled
    with pytest.raises(SignInError, match="This operator is disabled"):
        auth.sign_in(world.engine, "lead", PASSWORD)
    assert auth.get_operator(world.engine, lead.id) is None  # the next page signs them out
    assert not set_disabled(world.engine, world.admin, operator_id=lead.id, disabled=False).disabled
    assert auth.sign_in(world.engine, "lead", PASSWORD).id == lead.id


ACTIONS: dict[str, Callable[[World, OperatorInfo, int], Any]] = {
    "list": lambda w, actor, _: list_operators(w.engine, actor),
    "add": lambda w, actor, _: add_operator(
        w.engine,
        actor,
        login="new-admin",
        password=PASSWORD,
        role="admin",
        min_password_length=8,
    ),
    "change role": lambda w, actor, target: change_role(
        w.engine, actor, operator_id=target, role="admin"
    ),
    "reset password": lambda w, actor, target: reset_password(
        w.engine, actor, operator_id=target, password=NEW_PASSWORD, min_password_length=8
    ),
    "disable": lambda w, actor, target: set_disabled(
        w.engine, actor, operator_id=target, disabled=True
    ),
    "enable": lambda w, actor, target: set_disabled(
        w.engine, actor, operator_id=target, disabled=False
    ),
}


def _manager(world: World) -> OperatorInfo:
    return world.manager("sales-lead", "Sales")


def _demoted_admin(world: World) -> OperatorInfo:
    """An admin whose role was taken away after they signed in."""
    other = _add(world, "other", role="admin", scope="")
    actor = auth.get_operator(world.engine, other.id)
    change_role(world.engine, world.admin, operator_id=other.id, role="manager", scope_path="Sales")
    assert actor is not None and actor.is_admin  # the stale view the session still holds
    return actor


def _disabled_admin(world: World) -> OperatorInfo:
    other = _add(world, "other", role="admin", scope="")
    actor = auth.get_operator(world.engine, other.id)
    set_disabled(world.engine, world.admin, operator_id=other.id, disabled=True)
    assert actor is not None and actor.is_admin
    return actor


@pytest.mark.parametrize("actor", [_manager, _demoted_admin, _disabled_admin])
@pytest.mark.parametrize("action", ACTIONS.values(), ids=ACTIONS.keys())
def test_only_an_enabled_admin_may_act(
    world: World,
    actor: Callable[[World], OperatorInfo],
    action: Callable[[World, OperatorInfo, int], Any],
) -> None:
    acting = actor(world)
    target = _add(world, "target")
    before = _listed(world)
    with session(world.engine) as db:
        hash_before = db.get_one(Operator, target.id).password_hash
    with pytest.raises(UserbatchError, match="Only an administrator can manage operators"):
        action(world, acting, target.id)
    assert _listed(world) == before
    with session(world.engine) as db:
        assert db.get_one(Operator, target.id).password_hash == hash_before


@pytest.mark.parametrize(
    ("second_admin", "action", "message"),
    [
        ("none", "demote", "'admin' is the last enabled administrator and cannot be demoted"),
        ("none", "disable", "'admin' is the last enabled administrator and cannot be disabled"),
        ("disabled", "demote", "'admin' is the last enabled administrator and cannot be demoted"),
        ("disabled", "disable", "'admin' is the last enabled administrator and cannot be disabled"),
        ("enabled", "demote", "You cannot demote yourself; ask another administrator"),
        ("enabled", "disable", "You cannot disable yourself; ask another administrator"),
    ],
)
def test_no_admin_demotes_or_disables_the_last_admin_or_themself(
    world: World, second_admin: str, action: str, message: str
) -> None:
    if second_admin != "none":
        other = _add(world, "other", role="admin", scope="")
        if second_admin == "disabled":
            set_disabled(world.engine, world.admin, operator_id=other.id, disabled=True)
    me = world.admin.id
    with pytest.raises(UserbatchError, match=message):
        if action == "demote":
            change_role(
                world.engine, world.admin, operator_id=me, role="manager", scope_path="Sales"
            )
        else:
            set_disabled(world.engine, world.admin, operator_id=me, disabled=True)
    assert auth.get_operator(world.engine, me) == world.admin


def test_an_admin_demotes_and_disables_another_admin(world: World) -> None:
    other = _add(world, "other", role="admin", scope="")
    change_role(world.engine, world.admin, operator_id=other.id, role="manager", scope_path="Sales")
    change_role(world.engine, world.admin, operator_id=other.id, role="admin")
    set_disabled(world.engine, world.admin, operator_id=other.id, disabled=True)
    assert _listed(world)["other"] == ("admin", "", True)
    # Changing one's own role to what it is already is no demotion.
    change_role(world.engine, world.admin, operator_id=world.admin.id, role="admin")


def test_an_operator_that_is_gone(world: World) -> None:
    with pytest.raises(UserbatchError, match="That operator no longer exists"):
        set_disabled(world.engine, world.admin, operator_id=9999, disabled=True)


def _blocked_by(engine: Engine, pid: int) -> bool:
    """Whether a PostgreSQL session waits for a lock that the session ``pid`` holds."""
    with engine.connect() as connection:
        waiting = connection.execute(
            text("SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))"),
            {"pid": pid},
        ).scalar_one()
    return bool(waiting)


# SQLite has no row locks: it lets one writer in at a time anyway.
@pytest.mark.parametrize("settings", ["postgresql"], indirect=True)
def test_two_admins_acting_at_once_are_taken_in_turn(world: World) -> None:
    other = _add(world, "other", role="admin", scope="")
    acting_other = auth.get_operator(world.engine, other.id)
    assert acting_other is not None
    # The admin's action holds the admin rows: disabling 'other' ...
    with session(world.engine) as db:
        db.scalars(select(Operator).where(Operator.role == "admin").with_for_update()).all()
        holder = db.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with ThreadPoolExecutor(1) as pool:
            # ... while 'other' tries to disable the admin at the same moment.
            race = pool.submit(
                set_disabled, world.engine, acting_other, operator_id=world.admin.id, disabled=True
            )
            wait_until(
                lambda: race.done() or _blocked_by(world.engine, holder),
                timeout=30, what="'other' to wait for the admin rows",
            )  # fmt: skip
            assert not race.done()  # waiting for the lock, not deciding on stale rows
            db.get_one(Operator, other.id).disabled = True
            db.commit()
            with pytest.raises(UserbatchError, match="Only an administrator"):
                race.result(timeout=30)
    assert auth.get_operator(world.engine, world.admin.id) == world.admin
