"""API tokens: an operator's bearer tokens for the HTTP API, each acting as its operator.

A token is shown once, when it is made; the database keeps only its SHA-256 hash (a token
has 256 random bits: a slow hash would add nothing) and its first characters, to tell tokens
apart in a list. A token works with exactly its operator's role and scope as they are at
each request, until it is revoked, its expiry passes, or its operator is disabled.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import Engine, select, update

from userbatch.crypto.tokens import token_hash
from userbatch.db import session
from userbatch.directory.auth import OperatorInfo, get_operator
from userbatch.errors import Invalid, NotFound, SignInError
from userbatch.i18n import N_, Text
from userbatch.models import utcnow
from userbatch.models.automation import ApiToken

PREFIX = "ubt_"  # every token starts so: a secret scanner can find one pasted by mistake
SHOWN = len(PREFIX) + 6  # the characters a list shows
MAX_NAME = 100
MAX_DAYS = 3650
# Why a token does not sign in (message ids: the same words whatever the cause, so that a
# caller learns nothing about tokens it does not hold).
# A token's state ('active', 'revoked', 'expired'), as people read it.
STATE_LABELS = {"active": N_("active"), "revoked": N_("revoked"), "expired": N_("expired")}
REFUSED = N_("The API token is missing, unknown, revoked or expired, or its operator is disabled.")


@dataclass(frozen=True)
class TokenInfo:
    """A token as a list shows it: never the token itself."""

    id: int
    name: str
    prefix: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None

    def state(self, now: dt.datetime | None = None) -> str:
        """'active', 'revoked' or 'expired'."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= (now or utcnow()):
            return "expired"
        return "active"


@dataclass(frozen=True)
class NewToken:
    """A token just made: ``token`` is shown this once and kept nowhere."""

    info: TokenInfo
    token: str


def _info(row: ApiToken) -> TokenInfo:
    return TokenInfo(
        id=row.id, name=row.name, prefix=row.prefix, created_at=row.created_at,
        expires_at=row.expires_at, last_used_at=row.last_used_at, revoked_at=row.revoked_at,
    )  # fmt: skip


def create_token(
    engine: Engine, operator: OperatorInfo, name: str, *, expires_days: int | None = None
) -> NewToken:
    """A new token for ``operator``, named ``name``, expiring after ``expires_days`` (None:
    never). Raises ``Invalid`` for an empty or long name or a number of days out of range."""
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise Invalid(Text("A token's name has 1 to {most} characters.", most=MAX_NAME))
    if expires_days is not None and not 1 <= expires_days <= MAX_DAYS:
        raise Invalid(Text("A token expires after 1 to {most:,} days.", most=MAX_DAYS))
    token = PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    with session(engine) as db, db.begin():
        row = ApiToken(
            operator_id=operator.id, name=name, token_hash=token_hash(token),
            prefix=token[:SHOWN], created_at=now,
            expires_at=now + dt.timedelta(days=expires_days) if expires_days else None,
        )  # fmt: skip
        db.add(row)
        db.flush()
        return NewToken(_info(row), token)


def list_tokens(engine: Engine, operator: OperatorInfo) -> list[TokenInfo]:
    """``operator``'s tokens, newest first, revoked and expired ones too."""
    with session(engine) as db:
        rows = db.scalars(
            select(ApiToken).where(ApiToken.operator_id == operator.id).order_by(ApiToken.id.desc())
        ).all()
        return [_info(row) for row in rows]


def revoke_token(engine: Engine, operator: OperatorInfo, token_id: int) -> TokenInfo:
    """Revoke ``operator``'s token ``token_id`` (again: nothing changes); returns it.
    Raises ``NotFound`` for a token that is not theirs."""
    with session(engine) as db, db.begin():
        row = db.scalar(
            select(ApiToken).where(ApiToken.id == token_id, ApiToken.operator_id == operator.id)
        )
        if row is None:
            raise NotFound(what=Text("API token"), key=token_id)
        if row.revoked_at is None:
            row.revoked_at = utcnow()
        return _info(row)


# Last use is written at most this often, so that a busy client does not write at every call.
_TOUCH_EVERY = dt.timedelta(seconds=60)


def authenticate(engine: Engine, token: str) -> tuple[OperatorInfo, int]:
    """The operator ``token`` acts as, as the database says now, and the token's id.
    Raises ``SignInError`` for a token that is unknown, revoked or expired, or whose operator
    is disabled or gone."""
    now = utcnow()
    with session(engine) as db:
        row = db.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(token)))
        usable = (
            row is not None
            and row.revoked_at is None
            and (row.expires_at is None or row.expires_at > now)
        )
        if not usable or row is None:
            raise SignInError(Text(REFUSED))
        token_id, operator_id, last_used = row.id, row.operator_id, row.last_used_at
    operator = get_operator(engine, operator_id)
    if operator is None:
        raise SignInError(Text(REFUSED))
    if last_used is None or now - last_used >= _TOUCH_EVERY:
        with engine.begin() as connection:
            connection.execute(
                update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now)
            )
    return operator, token_id
