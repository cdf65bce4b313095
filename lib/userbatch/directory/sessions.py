"""Lasting sign-ins: a random token in the browser's cookie, only its hash in the database.

A session ends at sign-out, after ``session_minutes`` without activity, or ``session_days``
after it began, whichever comes first. Ending every session of an operator at once (sign out
everywhere; an administrator disabling them, changing their role or scope, or resetting
their password) signs out each of their open tabs at its next rerun, because every rerun
looks its session up again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import CursorResult, Delete, Engine, delete, select
from sqlalchemy.orm import Session

from userbatch.crypto.tokens import new_token, token_hash
from userbatch.db import session
from userbatch.directory.auth import OperatorInfo, get_operator
from userbatch.errors import SignInError
from userbatch.i18n import N_, Text
from userbatch.models import OperatorSession, utcnow
from userbatch.settings import Settings

# Activity is written at most this often, so that a busy page does not write on every rerun.
TOUCH_EVERY = dt.timedelta(seconds=60)
MAX_USER_AGENT = 255
# Why a session does not sign in (message ids; ``str`` of the refusal is the words).
EXPIRED = N_("Your session expired; please sign in again.")
ENDED = N_("You were signed out (in another tab or window, or by an administrator).")
INACTIVE = N_("Your operator account is no longer active.")


@dataclass(frozen=True)
class SignedIn:
    """A live session and the operator it signs in, as the database says now."""

    session_id: int
    operator: OperatorInfo


@dataclass(frozen=True)
class NewSession:
    """A session just opened: the token goes to the browser once and is kept nowhere else."""

    session_id: int
    token: str
    max_age_seconds: int  # the cookie's lifetime: the absolute limit


def open_session(
    engine: Engine,
    settings: Settings,
    operator: OperatorInfo,
    *,
    user_agent: str = "",
    method: str = "password",
    now: dt.datetime | None = None,
) -> NewSession:
    """A new session for ``operator`` (a new token at every sign-in: no fixation)."""
    now = now or utcnow()
    token, digest = new_token()
    lasting = dt.timedelta(days=settings.session_days)
    with session(engine) as db, db.begin():
        row = OperatorSession(
            token_hash=digest, operator_id=operator.id, created_at=now, last_seen_at=now,
            expires_at=now + lasting, user_agent=user_agent[:MAX_USER_AGENT], method=method,
        )  # fmt: skip
        db.add(row)
        db.flush()
        return NewSession(row.id, token, int(lasting.total_seconds()))


def resume(
    engine: Engine,
    settings: Settings,
    *,
    session_id: int | None = None,
    token: str | None = None,
    now: dt.datetime | None = None,
) -> SignedIn:
    """The live session with this id (a tab's) or token (a cookie's), touched.

    Raises ``SignInError`` saying why when there is none: ended, expired (the session is
    then removed), or its operator disabled.
    """
    now = now or utcnow()
    if session_id is None and token is None:
        raise SignInError(Text(ENDED))
    query = select(OperatorSession)
    query = (
        query.where(OperatorSession.id == session_id)
        if session_id is not None
        else query.where(OperatorSession.token_hash == token_hash(token or ""))
    )
    with session(engine) as db, db.begin():
        row = db.scalars(query).one_or_none()
        if row is None:
            raise SignInError(Text(ENDED))
        idle_limit = dt.timedelta(minutes=settings.session_minutes)
        expired = row.expires_at <= now or row.last_seen_at + idle_limit <= now
        if expired:
            db.delete(row)  # committed as the block ends: raising inside would undo it
        elif now - row.last_seen_at >= TOUCH_EVERY:
            row.last_seen_at = now
        found = row.id, row.operator_id
    if expired:
        raise SignInError(Text(EXPIRED))
    operator = get_operator(engine, found[1])
    if operator is None:
        end_sessions(engine, found[1])
        raise SignInError(Text(INACTIVE))
    return SignedIn(found[0], operator)


def ended(refusal: SignInError) -> bool:
    """True when ``refusal`` says only that the session ended (nothing to tell the reader
    who comes back with its cookie)."""
    return refusal.params.get("message") == Text(ENDED)


def end_session(engine: Engine, session_id: int) -> None:
    """Sign-out: this session ends (its token no longer signs in anywhere)."""
    with session(engine) as db, db.begin():
        db.execute(delete(OperatorSession).where(OperatorSession.id == session_id))


def end_sessions(target: Engine | Session, operator_id: int) -> int:
    """End every session of the operator; how many there were. Given a ``Session``, inside
    its transaction (so that a change to the operator and the sign-out are one)."""
    statement = delete(OperatorSession).where(OperatorSession.operator_id == operator_id)
    if isinstance(target, Session):
        return _deleted(target, statement)
    with session(target) as db, db.begin():
        return _deleted(db, statement)


def remove_expired(engine: Engine, settings: Settings, *, now: dt.datetime | None = None) -> int:
    """The worker's maintenance: remove sessions past either limit; how many."""
    now = now or utcnow()
    idle_since = now - dt.timedelta(minutes=settings.session_minutes)
    with session(engine) as db, db.begin():
        return _deleted(
            db,
            delete(OperatorSession).where(
                (OperatorSession.expires_at <= now) | (OperatorSession.last_seen_at <= idle_since)
            ),
        )


def _deleted(db: Session, statement: Delete) -> int:
    """Run a DELETE; how many rows it removed."""
    result: CursorResult[Any] = db.execute(statement)  # type: ignore[assignment]
    return result.rowcount
