import datetime as dt

import pytest
from sqlalchemy import Engine, select, update

from userbatch.crypto.passwords import verify_password
from userbatch.db import open_database, session
from userbatch.directory import auth
from userbatch.directory.groups import groups_in_scope, organisation_name
from userbatch.errors import SetupError, SignInError
from userbatch.models import Group, Operator, utcnow
from userbatch.settings import Settings

PASSWORD = "correct-horse-7"


@pytest.fixture
def engine(settings: Settings) -> Engine:
    return open_database(settings)


def _setup(engine: Engine) -> auth.OperatorInfo:
    return auth.initialize(
        engine, organisation="Acme Learning", login="admin", password=PASSWORD,
        min_password_length=8,
    )  # fmt: skip


def test_first_run_names_the_root_and_creates_an_admin(engine: Engine) -> None:
    assert auth.needs_setup(engine)
    admin = _setup(engine)
    assert not auth.needs_setup(engine)
    assert admin.is_admin and admin.scope_path == ""
    assert organisation_name(engine) == "Acme Learning"
    assert [g.path for g in groups_in_scope(engine, "")] == [""]
    with session(engine) as db:
        stored = db.scalars(select(Operator)).one()
    assert stored.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert PASSWORD not in stored.password_hash
    assert verify_password(stored.password_hash, PASSWORD)


def test_first_run_happens_once(engine: Engine) -> None:
    _setup(engine)
    with pytest.raises(SetupError, match="Set-up is done already"):
        _setup(engine)


@pytest.mark.parametrize(
    ("organisation", "login", "password", "message"),
    [
        ("Acme", "admin", "short1", "at least 8 characters; it has 6"),
        ("Acme", "admin", "lettersonly", "at least one letter and one digit"),
        ("Acme", "admin", "xadmin1234", "must not contain the login ID"),
        ("Acme", "", PASSWORD, "login must not be empty"),
        ("Acme", "two words", PASSWORD, "no spaces"),
        ("", "admin", PASSWORD, "Organisation name: A group name must not be empty"),
        ("A" * 31, "admin", PASSWORD, "at most 30 characters"),
        ("Sales>>Tokyo", "admin", PASSWORD, "must not contain '>>'"),
    ],
)
def test_first_run_explains_what_is_wrong(
    engine: Engine, organisation: str, login: str, password: str, message: str
) -> None:
    with pytest.raises(SetupError, match=message):
        auth.initialize(
            engine, organisation=organisation, login=login, password=password,
            min_password_length=8,
        )  # fmt: skip
    assert auth.needs_setup(engine)


def test_sign_in(engine: Engine) -> None:
    admin = _setup(engine)
    assert auth.sign_in(engine, " admin ", PASSWORD) == admin
    with session(engine) as db:
        assert db.scalars(select(Operator.last_sign_in_at)).one() is not None


@pytest.mark.parametrize(("login", "password"), [("admin", "wrong-pass-1"), ("nobody", PASSWORD)])
def test_a_wrong_login_or_password_says_the_same(engine: Engine, login: str, password: str) -> None:
    _setup(engine)
    with pytest.raises(SignInError, match=r"^Wrong login or password\.$"):
        auth.sign_in(engine, login, password)


def test_guessing_locks_the_account_for_a_while(engine: Engine) -> None:
    _setup(engine)
    now = utcnow()
    for _ in range(auth.MAX_FAILED_SIGN_INS):
        with pytest.raises(SignInError, match="Wrong login or password"):
            auth.sign_in(engine, "admin", "guess-123", now=now)
    with pytest.raises(SignInError, match="locked for 5 more minute"):
        auth.sign_in(engine, "admin", PASSWORD, now=now)
    later = now + dt.timedelta(minutes=auth.LOCK_MINUTES, seconds=1)
    assert auth.sign_in(engine, "admin", PASSWORD, now=later).login == "admin"


def test_a_disabled_operator_cannot_sign_in_and_loses_the_session(engine: Engine) -> None:
    admin = _setup(engine)
    with session(engine) as db, db.begin():
        db.execute(update(Operator).values(disabled=True))
    with pytest.raises(SignInError, match="disabled"):
        auth.sign_in(engine, "admin", PASSWORD)
    assert auth.get_operator(engine, admin.id) is None


def test_a_manager_sees_only_their_subtree(engine: Engine) -> None:
    _setup(engine)
    with session(engine) as db, db.begin():
        root = db.scalars(select(Group).where(Group.path == "")).one()
        sales = Group(parent_id=root.id, name="Sales", path="Sales")
        db.add_all([sales, Group(parent_id=root.id, name="Sales_", path="Sales_")])
        db.flush()
        tokyo = Group(parent_id=sales.id, name="Tokyo", path="Sales>>Tokyo")
        db.add(tokyo)
        db.add(Operator(login="mgr", password_hash="x", role="manager", scope_group_id=sales.id))
        db.flush()
        manager_id = db.scalars(select(Operator.id).where(Operator.login == "mgr")).one()
    manager = auth.get_operator(engine, manager_id)
    assert manager is not None and manager.scope_path == "Sales"
    assert [g.path for g in groups_in_scope(engine, manager.scope_path)] == [
        "Sales",
        "Sales>>Tokyo",
    ]
