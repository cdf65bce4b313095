"""Lasting sign-ins (``directory.sessions``), company sign-in and their settings, on each backend."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update

from tests.conftest import World
from tests.helpers import age_sessions
from userbatch.admin.operators import add_operator, change_role, reset_password, set_disabled
from userbatch.db import session
from userbatch.directory import auth, sessions
from userbatch.directory.auth import OperatorInfo
from userbatch.directory.sessions import ENDED, EXPIRED, INACTIVE, TOUCH_EVERY
from userbatch.errors import ConfigError, SignInError
from userbatch.models import Operator, OperatorSession, utcnow
from userbatch.settings import get_settings

PASSWORD = "correct-horse-7"


def _row(world: World, session_id: int) -> OperatorSession | None:
    with session(world.engine) as db:
        return db.get(OperatorSession, session_id)


def _session_count(world: World) -> int:
    with session(world.engine) as db:
        return db.scalar(select(func.count()).select_from(OperatorSession)) or 0


def _refused(
    world: World,
    message: str,
    *,
    token: str | None = None,
    session_id: int | None = None,
    now: dt.datetime | None = None,
) -> None:
    """``resume`` refuses with exactly ``message``."""
    with pytest.raises(SignInError) as refused:
        sessions.resume(world.engine, world.settings, token=token, session_id=session_id, now=now)
    assert str(refused.value) == message


# --- The token and its hash ------------------------------------------------------------------


def test_only_the_tokens_hash_is_stored(world: World) -> None:
    new = sessions.open_session(world.engine, world.settings, world.admin, user_agent="Firefox")
    with world.engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM operator_sessions")).all()
    assert len(rows) == 1
    assert all(new.token not in str(value) for value in rows[0])
    stored = _row(world, new.session_id)
    assert stored is not None
    assert stored.token_hash == hashlib.sha256(new.token.encode()).hexdigest()
    assert stored.user_agent == "Firefox" and stored.method == "password"
    assert new.max_age_seconds == world.settings.session_days * 86400
    signed = sessions.resume(world.engine, world.settings, token=new.token)
    assert (signed.session_id, signed.operator) == (new.session_id, world.admin)


def test_a_stolen_hash_is_no_token(world: World) -> None:
    new = sessions.open_session(world.engine, world.settings, world.admin)
    stored = _row(world, new.session_id)
    assert stored is not None
    _refused(world, ENDED, token=stored.token_hash)
    # The session itself is untouched by the attempt.
    assert sessions.resume(world.engine, world.settings, token=new.token).operator == world.admin


def test_each_sign_in_gets_a_new_token(world: World) -> None:
    first = sessions.open_session(world.engine, world.settings, world.admin)
    second = sessions.open_session(world.engine, world.settings, world.admin)
    assert first.token != second.token and first.session_id != second.session_id


# --- Sign-out --------------------------------------------------------------------------------


def test_sign_out_ends_that_session_only(world: World) -> None:
    lead = world.manager("lead", "Sales")
    mine = sessions.open_session(world.engine, world.settings, world.admin)
    my_other_tab = sessions.open_session(world.engine, world.settings, world.admin)
    theirs = sessions.open_session(world.engine, world.settings, lead)

    sessions.end_session(world.engine, mine.session_id)

    _refused(world, ENDED, token=mine.token)
    _refused(world, ENDED, session_id=mine.session_id)
    assert sessions.resume(world.engine, world.settings, token=theirs.token).operator == lead
    assert sessions.resume(world.engine, world.settings, token=my_other_tab.token).operator == (
        world.admin
    )


def test_sign_out_everywhere_ends_every_session_of_the_operator_only(world: World) -> None:
    lead = world.manager("lead", "Sales")
    mine = [sessions.open_session(world.engine, world.settings, world.admin) for _ in range(3)]
    theirs = sessions.open_session(world.engine, world.settings, lead)

    assert sessions.end_sessions(world.engine, world.admin.id) == 3

    for new in mine:
        _refused(world, ENDED, token=new.token)
    assert sessions.resume(world.engine, world.settings, token=theirs.token).operator == lead


def test_resume_needs_an_id_or_a_token(world: World) -> None:
    _refused(world, ENDED)


# --- The idle and absolute limits ------------------------------------------------------------


def _idle_too_long(world: World) -> dt.timedelta:
    return dt.timedelta(minutes=world.settings.session_minutes + 1)


def test_an_idle_session_expires(world: World) -> None:
    new = sessions.open_session(world.engine, world.settings, world.admin)
    age_sessions(world.engine, _idle_too_long(world))
    _refused(world, EXPIRED, token=new.token)


def test_an_expired_session_is_removed_when_resumed(world: World) -> None:
    new = sessions.open_session(world.engine, world.settings, world.admin)
    age_sessions(world.engine, _idle_too_long(world))
    _refused(world, EXPIRED, session_id=new.session_id)
    assert _row(world, new.session_id) is None


def test_a_session_a_little_less_idle_than_the_limit_lives(world: World) -> None:
    new = sessions.open_session(world.engine, world.settings, world.admin)
    age_sessions(world.engine, dt.timedelta(minutes=world.settings.session_minutes - 1))
    assert sessions.resume(world.engine, world.settings, token=new.token).operator == world.admin


def test_a_busy_session_still_ends_at_the_absolute_limit(world: World) -> None:
    start = utcnow()
    new = sessions.open_session(world.engine, world.settings, world.admin, now=start)
    expires = start + dt.timedelta(days=world.settings.session_days)
    # Active well within the idle limit, all the way up to the absolute limit.
    step = dt.timedelta(minutes=world.settings.session_minutes // 2)
    now = start + step
    while now < expires:
        sessions.resume(world.engine, world.settings, token=new.token, now=now)
        now += step
    stored = _row(world, new.session_id)
    idle_limit = dt.timedelta(minutes=world.settings.session_minutes)
    past_the_end = expires + dt.timedelta(seconds=1)
    assert stored is not None and stored.last_seen_at + idle_limit > past_the_end  # not idle
    _refused(world, EXPIRED, token=new.token, now=past_the_end)
    assert _row(world, new.session_id) is None


def test_activity_is_written_at_most_every_touch_interval(world: World) -> None:
    start = utcnow()
    new = sessions.open_session(world.engine, world.settings, world.admin, now=start)
    almost = start + TOUCH_EVERY - dt.timedelta(seconds=1)
    sessions.resume(world.engine, world.settings, session_id=new.session_id, now=almost)
    stored = _row(world, new.session_id)
    assert stored is not None and stored.last_seen_at == start
    later = start + TOUCH_EVERY
    sessions.resume(world.engine, world.settings, session_id=new.session_id, now=later)
    stored = _row(world, new.session_id)
    assert stored is not None and stored.last_seen_at == later
    assert stored.expires_at == start + dt.timedelta(days=world.settings.session_days)


def test_remove_expired_removes_only_sessions_past_a_limit(world: World) -> None:
    now = utcnow()
    minutes = dt.timedelta(minutes=world.settings.session_minutes)
    fresh = sessions.open_session(world.engine, world.settings, world.admin, now=now)
    almost_idle = sessions.open_session(
        world.engine, world.settings, world.admin, now=now - minutes + dt.timedelta(minutes=1)
    )
    sessions.open_session(  # idle a minute past the limit
        world.engine, world.settings, world.admin, now=now - minutes - dt.timedelta(minutes=1)
    )
    past_its_days = sessions.open_session(world.engine, world.settings, world.admin, now=now)
    with session(world.engine) as db, db.begin():
        db.execute(
            update(OperatorSession)
            .where(OperatorSession.id == past_its_days.session_id)
            .values(expires_at=now - dt.timedelta(seconds=1))
        )

    assert sessions.remove_expired(world.engine, world.settings, now=now) == 2

    with session(world.engine) as db:
        left = set(db.scalars(select(OperatorSession.id)))
    assert left == {fresh.session_id, almost_idle.session_id}


# --- An administrator's changes end the operator's sessions ----------------------------------


def _disable(world: World, lead: OperatorInfo) -> None:
    set_disabled(world.engine, world.admin, operator_id=lead.id, disabled=True)


def _promote(world: World, lead: OperatorInfo) -> None:
    change_role(world.engine, world.admin, operator_id=lead.id, role="admin")


def _move(world: World, lead: OperatorInfo) -> None:
    change_role(
        world.engine, world.admin, operator_id=lead.id, role="manager", scope_path="Support"
    )


def _reset(world: World, lead: OperatorInfo) -> None:
    reset_password(
        world.engine, world.admin, operator_id=lead.id, password="battery-staple-9",
        min_password_length=8,
    )  # fmt: skip


@pytest.mark.parametrize("change", [_disable, _promote, _move, _reset])
def test_an_administrators_change_ends_every_session_of_the_operator(
    world: World, change: Callable[[World, OperatorInfo], None]
) -> None:
    lead = world.manager("lead", "Sales")
    theirs = [sessions.open_session(world.engine, world.settings, lead) for _ in range(2)]
    mine = sessions.open_session(world.engine, world.settings, world.admin)

    change(world, lead)

    with session(world.engine) as db:  # ended by the change itself, not at the next resume
        left = db.scalars(select(OperatorSession).where(OperatorSession.operator_id == lead.id))
        assert left.all() == []
    for new in theirs:
        with pytest.raises(SignInError):
            sessions.resume(world.engine, world.settings, token=new.token)
        with pytest.raises(SignInError):
            sessions.resume(world.engine, world.settings, session_id=new.session_id)
    assert sessions.resume(world.engine, world.settings, token=mine.token).operator == world.admin


def test_saving_the_same_role_and_scope_keeps_the_sessions(world: World) -> None:
    lead = world.manager("lead", "Sales")
    theirs = sessions.open_session(world.engine, world.settings, lead)

    change_role(world.engine, world.admin, operator_id=lead.id, role="manager", scope_path="Sales")

    assert sessions.resume(world.engine, world.settings, token=theirs.token).operator == lead


def test_a_disabled_operators_surviving_session_is_inactive(world: World) -> None:
    lead = world.manager("lead", "Sales")
    theirs = [sessions.open_session(world.engine, world.settings, lead) for _ in range(2)]
    # Past set_disabled (which ends the sessions): as if a row survived somehow.
    with session(world.engine) as db, db.begin():
        db.execute(update(Operator).where(Operator.id == lead.id).values(disabled=True))

    _refused(world, INACTIVE, token=theirs[0].token)
    # ... and every session of theirs is gone with it.
    _refused(world, ENDED, token=theirs[1].token)
    assert _session_count(world) == 0


# --- Company sign-in -------------------------------------------------------------------------


def _operator(world: World, login: str) -> OperatorInfo:
    added = add_operator(
        world.engine, world.admin, login=login, password=PASSWORD, role="manager",
        scope_path="Sales", min_password_length=8,
    )  # fmt: skip
    found = auth.get_operator(world.engine, added.id)
    assert found is not None
    return found


def _operator_count(world: World) -> int:
    with session(world.engine) as db:
        return db.scalar(select(func.count()).select_from(Operator)) or 0


def test_company_sign_in_matches_the_email_in_any_case(world: World) -> None:
    alice = _operator(world, "Alice.Smith@Example.com")
    signed = auth.sign_in_company(world.engine, email="alice.smith@EXAMPLE.COM", subject="u-1")
    assert signed == alice
    with session(world.engine) as db:
        stored = db.get(Operator, alice.id)
        assert stored is not None and stored.last_sign_in_at is not None


def test_company_sign_in_prefers_the_email_to_the_subject(world: World) -> None:
    by_email = _operator(world, "alice@example.com")
    _operator(world, "u-1")
    assert auth.sign_in_company(world.engine, email="alice@example.com", subject="u-1") == by_email


@pytest.mark.parametrize("email", [None, "", "unknown@example.com"])
def test_company_sign_in_falls_back_to_the_subject(world: World, email: str | None) -> None:
    bob = _operator(world, "U-2001")
    assert auth.sign_in_company(world.engine, email=email, subject="u-2001") == bob


def test_company_sign_in_refuses_an_unknown_identity_and_creates_nothing(world: World) -> None:
    _operator(world, "alice@example.com")
    before = _operator_count(world)
    with pytest.raises(SignInError) as refused:
        auth.sign_in_company(world.engine, email="mallory@example.com", subject="u-666")
    assert str(refused.value).startswith(
        "No operator matches the company account mallory@example.com"
    )
    assert _operator_count(world) == before
    assert _session_count(world) == 0


def test_company_sign_in_refuses_an_identity_without_email_or_subject(world: World) -> None:
    with pytest.raises(SignInError, match="gave no e-mail address or subject"):
        auth.sign_in_company(world.engine, email="  ", subject=None)


def test_company_sign_in_refuses_a_disabled_operator(world: World) -> None:
    alice = _operator(world, "alice@example.com")
    set_disabled(world.engine, world.admin, operator_id=alice.id, disabled=True)
    with pytest.raises(SignInError) as refused:
        auth.sign_in_company(world.engine, email="Alice@example.com", subject="u-1")
    assert str(refused.value) == "This operator is disabled; ask an administrator."


# --- Settings --------------------------------------------------------------------------------

OIDC = {
    "USERBATCH_OIDC_METADATA_URL": "https://sso.example.com/.well-known/openid-configuration",
    "USERBATCH_OIDC_CLIENT_ID": "userbatch",
    "USERBATCH_OIDC_CLIENT_SECRET": "not-a-real-secret",
}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """An environment without any sign-in variable, its data folder the test's own."""
    for name in [*OIDC, "USERBATCH_PASSWORD_SIGN_IN", "USERBATCH_OIDC_PROVIDER_NAME"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("USERBATCH_DATA_DIR", str(tmp_path))
    return monkeypatch


@pytest.mark.parametrize("given", [["METADATA_URL"], ["CLIENT_ID", "CLIENT_SECRET"], ["CLIENT_ID"]])
def test_the_oidc_variables_come_together(clean_env: pytest.MonkeyPatch, given: list[str]) -> None:
    for part in given:
        clean_env.setenv(f"USERBATCH_OIDC_{part}", OIDC[f"USERBATCH_OIDC_{part}"])
    with pytest.raises(ConfigError) as raised:
        get_settings()
    assert str(raised.value) == (
        "configuration error: company sign-in needs USERBATCH_OIDC_METADATA_URL, "
        "USERBATCH_OIDC_CLIENT_ID and USERBATCH_OIDC_CLIENT_SECRET together"
    )


def test_password_sign_in_off_needs_company_sign_in(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("USERBATCH_PASSWORD_SIGN_IN", "false")
    with pytest.raises(ConfigError, match="nobody could sign in"):
        get_settings()


def test_company_sign_in_alone_is_a_configuration(clean_env: pytest.MonkeyPatch) -> None:
    assert not get_settings().company_sign_in
    for name, value in OIDC.items():
        clean_env.setenv(name, value)
    clean_env.setenv("USERBATCH_PASSWORD_SIGN_IN", "false")
    settings = get_settings()
    assert settings.company_sign_in and not settings.password_sign_in
