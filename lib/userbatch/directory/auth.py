"""Operators: first-run set-up, sign-in with argon2id hashes or a company identity, and who
may see what.

Sign-in is throttled per operator: after ``MAX_FAILED_SIGN_INS`` wrong passwords in a row the
account is locked for ``LOCK_MINUTES``, and the message never tells whether the login exists.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from userbatch.crypto.passwords import hash_password, password_problems, verify_password
from userbatch.db import session
from userbatch.directory.groups import root_group, validate_group_name
from userbatch.errors import (
    Invalid,
    NotAllowed,
    SetupError,
    SignInError,
    UsageError,
    UserbatchError,
)
from userbatch.i18n import N_, Plural, Sentences, Text, Words
from userbatch.models import Group, Operator, utcnow

MAX_FAILED_SIGN_INS = 5
LOCK_MINUTES = 5
MAX_LOGIN_LENGTH = 64
ROLES = (N_("admin"), N_("manager"))  # their names are message ids too
WRONG = N_("Wrong login or password.")
DISABLED = N_("This operator is disabled; ask an administrator.")
# Verifying against this keeps a wrong login as slow as a wrong password.
_DUMMY_HASH = hash_password("not-a-real-password-0")


@dataclass(frozen=True)
class OperatorInfo:
    """The signed-in operator as the pages and the domain need it."""

    id: int
    login: str
    role: str
    scope_path: str  # '' (the whole tree) for admins

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def needs_setup(engine: Engine) -> bool:
    """True on an empty database: no operator exists yet."""
    with session(engine) as db:
        return db.scalar(select(func.count()).select_from(Operator)) == 0


def validate_login(login: str) -> str:
    """The trimmed operator login; raises a ``UserbatchError`` saying which rule it breaks."""
    login = login.strip()
    if not login:
        raise Invalid(Text("The login must not be empty."))
    if len(login) > MAX_LOGIN_LENGTH or any(ch.isspace() for ch in login):
        raise Invalid(
            Text("The login has at most {count} characters and no spaces.", count=MAX_LOGIN_LENGTH)
        )
    return login


def initialize(
    engine: Engine, *, organisation: str, login: str, password: str, min_password_length: int
) -> OperatorInfo:
    """First-run set-up: name the root group and create the first admin.

    Raises ``SetupError`` when set-up was done already or a value breaks a rule.
    """
    try:
        login = validate_login(login)
    except UserbatchError as exc:
        raise SetupError(_words(exc)) from None
    try:
        organisation = validate_group_name(organisation)
    except UserbatchError as exc:
        raise SetupError(Text("Organisation name: {why}", why=_words(exc))) from None
    problems = password_problems(password, min_length=min_password_length, login=login)
    if problems:
        raise SetupError(Sentences(*problems))
    password_hash = hash_password(password)
    with session(engine) as db, db.begin():
        if db.scalar(select(func.count()).select_from(Operator)):
            raise SetupError(Text("Set-up is done already; sign in instead."))
        root = root_group(db)
        if root is None:
            db.add(Group(parent_id=None, name=organisation, path=""))
        else:
            root.name = organisation
        admin = Operator(login=login, password_hash=password_hash, role="admin")
        db.add(admin)
        db.flush()
        return OperatorInfo(id=admin.id, login=admin.login, role="admin", scope_path="")


def _words(error: UserbatchError) -> Words:
    """An error's words as they were given, still to be made in the reader's language."""
    words = error.params.get("message")
    return words if words is not None else error.message


def _info(db_operator: Operator, scope_path: str | None) -> OperatorInfo:
    return OperatorInfo(
        id=db_operator.id,
        login=db_operator.login,
        role=db_operator.role,
        scope_path=scope_path or "",
    )


def sign_in(
    engine: Engine, login: str, password: str, *, now: dt.datetime | None = None
) -> OperatorInfo:
    """The operator whose login and password match.

    Raises ``SignInError`` for a wrong login or password, a disabled operator, or an account
    locked after too many wrong passwords.
    """
    now = now or utcnow()
    with session(engine) as db:
        with db.begin():
            row = db.execute(
                select(Operator, Group.path)
                .outerjoin(Group, Group.id == Operator.scope_group_id)
                .where(Operator.login == login.strip())
                .with_for_update(of=Operator)
            ).one_or_none()
            refusal: Text | None
            if row is None:
                verify_password(_DUMMY_HASH, password)
                refusal = Text(WRONG)
            else:
                refusal = _check_attempt(row[0], password, now)
        if refusal:
            raise SignInError(refusal)
        assert row is not None
        return _info(row[0], row[1])


def _check_attempt(operator: Operator, password: str, now: dt.datetime) -> Text | None:
    """Record one sign-in attempt on ``operator``; the reason it is refused, or None."""
    if operator.locked_until and operator.locked_until > now:
        minutes = max(1, round((operator.locked_until - now).total_seconds() / 60))
        return Plural(
            "Too many wrong passwords: this account is locked for {n} more minute(s).",
            "Too many wrong passwords: this account is locked for {n} more minute(s).",
            minutes,
        )
    if not verify_password(operator.password_hash, password):
        operator.failed_sign_ins += 1
        if operator.failed_sign_ins >= MAX_FAILED_SIGN_INS:
            operator.locked_until = now + dt.timedelta(minutes=LOCK_MINUTES)
            operator.failed_sign_ins = 0
        return Text(WRONG)
    if operator.disabled:
        return Text(DISABLED)
    operator.failed_sign_ins = 0
    operator.locked_until = None
    operator.last_sign_in_at = now
    return None


def sign_in_company(
    engine: Engine, *, email: str | None, subject: str | None, now: dt.datetime | None = None
) -> OperatorInfo:
    """The operator a company identity signs in: the one whose login is the identity's
    e-mail address (in any letter case) or, failing that, its subject.

    Raises ``SignInError`` when no operator matches (nothing is created: an administrator
    adds operators) or the one that does is disabled.
    """
    candidates = [value.strip() for value in (email, subject) if value and value.strip()]
    if not candidates:
        raise SignInError(Text("Your company account gave no e-mail address or subject to match."))
    with session(engine) as db, db.begin():
        for login in candidates:
            row = db.execute(
                select(Operator, Group.path)
                .outerjoin(Group, Group.id == Operator.scope_group_id)
                .where(func.lower(Operator.login) == login.lower())
            ).first()
            if row is not None:
                break
        else:
            raise SignInError(
                Text("No operator matches the company account {account}; ask an administrator "
                     "to add an operator with that login.", account=candidates[0])
            )  # fmt: skip
        if row[0].disabled:
            raise SignInError(Text(DISABLED))
        row[0].last_sign_in_at = now or utcnow()
        return _info(row[0], row[1])


def get_operator(engine: Engine, operator_id: int) -> OperatorInfo | None:
    """The operator with this id as it is now, or None if it is gone or disabled."""
    with session(engine) as db:
        row = db.execute(
            select(Operator, Group.path)
            .outerjoin(Group, Group.id == Operator.scope_group_id)
            .where(Operator.id == operator_id)
        ).one_or_none()
    if row is None or row[0].disabled:
        return None
    return _info(row[0], row[1])


def require_admin(db: Session, actor: OperatorInfo, action: Words) -> None:
    """Raises a ``UserbatchError`` unless ``actor`` is, as the database says now, an enabled admin.

    ``action`` completes the refusal: "Only administrators can <action>." (words of the
    catalogue, ``Text``, to speak the reader's language).
    """
    role = db.scalar(
        select(Operator.role).where(Operator.id == actor.id, Operator.disabled.is_(False))
    )
    if role != "admin":
        raise NotAllowed(Text("Only administrators can {action}.", action=action))


def acting_operator(engine: Engine, login: str | None) -> OperatorInfo:
    """The enabled operator ``login``, or the first enabled admin for None: who a command
    line acts as. Raises ``UsageError`` before set-up or for no such enabled operator."""
    if needs_setup(engine):
        raise UsageError(
            Text("set-up is not done: open the app once, or run 'userbatch setup "
                 "--organisation NAME --admin LOGIN'")
        )  # fmt: skip
    with session(engine) as db:
        query = select(Operator.id).where(Operator.disabled.is_(False))
        query = (
            query.where(Operator.login == login)
            if login
            else query.where(Operator.role == "admin").order_by(Operator.id)
        )
        operator_id = db.scalars(query).first()
    operator = get_operator(engine, operator_id) if operator_id else None
    if operator is None:
        raise UsageError(Text("there is no active operator '{login}'", login=login))
    return operator
