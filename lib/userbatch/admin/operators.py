"""Managing operators: list, add, change role and scope, reset a password, disable, enable;
and each operator's own notices of their batches.

Only an administrator may do any of it, checked against the database on every call (an admin
demoted or disabled a moment ago is refused). There is always at least one enabled
administrator: an action that would leave none is refused, and so is an admin disabling or
demoting themself. Each action is one transaction that first locks every admin row, so two
admins acting at once (each disabling the other, say) are taken one after the other.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from userbatch.check.rules import _email_reason
from userbatch.crypto.passwords import hash_password, password_problems
from userbatch.db import session
from userbatch.directory.auth import ROLES, OperatorInfo, validate_login
from userbatch.directory.groups import normalize_path
from userbatch.directory.sessions import end_sessions
from userbatch.errors import Conflict, Invalid, NotAllowed, NotFound
from userbatch.i18n import LANGUAGES, N_, Sentences, Text
from userbatch.models import Group, Operator, utcnow


@dataclass(frozen=True)
class OperatorRow(OperatorInfo):
    """An operator as the Operators screen lists it: who they are, and their account's state."""

    disabled: bool
    locked: bool  # too many wrong passwords; the lock has not run out yet
    last_sign_in_at: dt.datetime | None
    created_at: dt.datetime


def list_operators(
    engine: Engine, actor: OperatorInfo, *, now: dt.datetime | None = None
) -> list[OperatorRow]:
    """Every operator, by login. Raises a ``UserbatchError`` unless ``actor`` is an admin."""
    now = now or utcnow()
    with session(engine) as db:
        _admins(db, actor, lock=False)
        rows = db.execute(
            select(Operator, Group.path)
            .outerjoin(Group, Group.id == Operator.scope_group_id)
            .order_by(Operator.login)
        ).all()
        return [_row(operator, path, now) for operator, path in rows]


def add_operator(
    engine: Engine,
    actor: OperatorInfo,
    *,
    login: str,
    password: str,
    role: str,
    scope_path: str = "",
    min_password_length: int,
) -> OperatorRow:
    """Create an operator; a manager needs ``scope_path``, an admin has none.

    Raises a ``UserbatchError`` unless ``actor`` is an admin, for a login taken already (in any
    letter case), a bad login or password, a bad role, or a scope group that does not exist.
    """
    with session(engine) as db, db.begin():
        _admins(db, actor, lock=True)
        login = validate_login(login)
        taken = db.scalar(select(Operator.login).where(func.lower(Operator.login) == login.lower()))
        if taken is not None:
            raise Conflict(_taken(login, taken))
        scope = _scope_group(db, role, scope_path)
        _check_password(password, min_length=min_password_length, login=login)
        operator = Operator(
            login=login, password_hash=hash_password(password), role=role,
            scope_group_id=scope.id if scope else None,
        )  # fmt: skip
        db.add(operator)
        db.flush()
        return _row(operator, scope.path if scope else None, utcnow())


def change_role(
    engine: Engine, actor: OperatorInfo, *, operator_id: int, role: str, scope_path: str = ""
) -> OperatorRow:
    """Give an operator a role, and a manager the group subtree they manage; a change signs
    them out everywhere.

    Raises a ``UserbatchError`` unless ``actor`` is an admin, for a bad role or scope group, and
    for demoting the last enabled admin or oneself.
    """
    with session(engine) as db, db.begin():
        admins = _admins(db, actor, lock=True)
        operator = _target(db, operator_id)
        scope = _scope_group(db, role, scope_path)
        if role != "admin":
            _keep_an_admin(admins, actor, operator, "demote")
        scope_id = scope.id if scope else None
        if (operator.role, operator.scope_group_id) != (role, scope_id):
            end_sessions(db, operator.id)  # their open tabs show the sign-in form next
        operator.role = role
        operator.scope_group_id = scope_id
        return _row(operator, scope.path if scope else None, utcnow())


def reset_password(
    engine: Engine,
    actor: OperatorInfo,
    *,
    operator_id: int,
    password: str,
    min_password_length: int,
) -> None:
    """Set an operator's password; their failed sign-ins, any lock and every session of
    theirs end.

    Raises ``NotAllowed`` unless ``actor`` is an admin, ``Invalid`` when the policy refuses
    ``password``.
    """
    with session(engine) as db, db.begin():
        _admins(db, actor, lock=True)
        operator = _target(db, operator_id)
        _check_password(password, min_length=min_password_length, login=operator.login)
        operator.password_hash = hash_password(password)
        end_sessions(db, operator.id)
        operator.failed_sign_ins = 0
        operator.locked_until = None


def set_disabled(
    engine: Engine, actor: OperatorInfo, *, operator_id: int, disabled: bool
) -> OperatorRow:
    """Disable (``disabled=True``) or enable an operator; a disabled one cannot sign in and is
    signed out everywhere at once.

    Raises a ``UserbatchError`` unless ``actor`` is an admin, and for disabling the last enabled
    admin or oneself.
    """
    with session(engine) as db, db.begin():
        admins = _admins(db, actor, lock=True)
        operator = _target(db, operator_id)
        if disabled:
            _keep_an_admin(admins, actor, operator, "disable")
        if disabled:
            end_sessions(db, operator.id)
        operator.disabled = disabled
        path = db.scalar(select(Group.path).where(Group.id == operator.scope_group_id))
        return _row(operator, path, utcnow())


def _admins(db: Session, actor: OperatorInfo, *, lock: bool) -> Sequence[Operator]:
    """Every admin row (with ``lock``, locked until the transaction ends); raises
    a ``UserbatchError`` unless ``actor`` is one of them and enabled, as the database says now."""
    query = select(Operator).where(Operator.role == "admin").order_by(Operator.id)
    # The fixed order keeps two transactions taking these locks from deadlocking.
    admins = db.scalars(query.with_for_update() if lock else query).all()
    if not any(admin.id == actor.id and not admin.disabled for admin in admins):
        raise NotAllowed(Text("Only an administrator can manage operators."))
    return admins


def _target(db: Session, operator_id: int) -> Operator:
    operator = db.get(Operator, operator_id, with_for_update=True)
    if operator is None:
        raise NotFound(Text("That operator no longer exists."))
    return operator


def _keep_an_admin(
    admins: Sequence[Operator], actor: OperatorInfo, operator: Operator, verb: str
) -> None:
    """Refuse to ``verb`` (disable, demote) ``operator`` when it would leave no enabled admin,
    or when it is the actor themself."""
    if operator.role != "admin" or operator.disabled:
        return
    disabling = verb == "disable"
    if not any(admin.id != operator.id and not admin.disabled for admin in admins):
        last = (
            N_("'{login}' is the last enabled administrator and cannot be disabled; make "
               "another operator an administrator first.")
            if disabling
            else N_("'{login}' is the last enabled administrator and cannot be demoted; make "
                    "another operator an administrator first.")
        )  # fmt: skip
        raise Conflict(Text(last, login=operator.login))
    if operator.id == actor.id:
        raise NotAllowed(
            Text("You cannot disable yourself; ask another administrator.")
            if disabling
            else Text("You cannot demote yourself; ask another administrator.")
        )


def _scope_group(db: Session, role: str, scope_path: str) -> Group | None:
    """The group a manager manages (None for an admin); raises a ``UserbatchError`` for a bad role,
    a missing or unknown group, or a group given to an admin."""
    if role not in ROLES:
        raise Invalid(Text("The role must be 'admin' or 'manager', not '{role}'.", role=role))
    path = normalize_path(scope_path)
    if role == "admin":
        if path:
            raise Invalid(Text("An administrator manages the whole organisation, not one group."))
        return None
    if not path:
        raise Invalid(
            Text("A manager needs the group they manage (below the organisation); for the "
                 "whole organisation make them an administrator.")
        )  # fmt: skip
    group = db.scalars(select(Group).where(Group.path == path)).one_or_none()
    if group is None:
        raise NotFound(Text("The group '{path}' does not exist.", path=path))
    return group


def _check_password(password: str, *, min_length: int, login: str) -> None:
    problems = password_problems(password, min_length=min_length, login=login)
    if problems:
        raise Invalid(Sentences(*problems))


def _taken(login: str, existing: str) -> Text:
    if existing == login:
        return Text("The login '{login}' belongs to another operator already.", login=login)
    return Text(
        "The login '{login}' differs from the operator '{existing}' only in case.",
        login=login, existing=existing,
    )  # fmt: skip


def _row(operator: Operator, scope_path: str | None, now: dt.datetime) -> OperatorRow:
    return OperatorRow(
        id=operator.id,
        login=operator.login,
        role=operator.role,
        scope_path=scope_path or "",
        disabled=operator.disabled,
        locked=operator.locked_until is not None and operator.locked_until > now,
        last_sign_in_at=operator.last_sign_in_at,
        created_at=operator.created_at,
    )


@dataclass(frozen=True)
class Notices:
    """Where an operator hears that their batches ended, and whether they do."""

    email: str
    notify: bool


def own_notices(engine: Engine, actor: OperatorInfo) -> Notices:
    """The operator's own notice settings."""
    with session(engine) as db:
        operator = _target(db, actor.id)
        return Notices(operator.email or "", operator.notify)


def own_language(engine: Engine, actor: OperatorInfo) -> str | None:
    """The language the operator chose for the screens; None when they chose none."""
    with session(engine) as db:
        return _target(db, actor.id).language


def set_own_language(engine: Engine, actor: OperatorInfo, language: str) -> None:
    """Remember ``language`` (one of ``userbatch.i18n.LANGUAGES``) as the operator's."""
    if language not in LANGUAGES:
        raise Invalid(Text("There is no language '{language}'.", language=language))
    with session(engine) as db, db.begin():
        _target(db, actor.id).language = language


def set_own_notices(engine: Engine, actor: OperatorInfo, *, email: str, notify: bool) -> Notices:
    """Set where the operator hears that their batches ended (a blank address: nowhere).
    Raises ``Invalid`` for an address that is not one."""
    email = email.strip()
    if email:
        try:
            email = validate_email(email, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise Invalid(
                Text("'{email}' is not an e-mail address: {reason}", email=email,
                     reason=_email_reason(exc))
            ) from None  # fmt: skip
    with session(engine) as db, db.begin():
        operator = _target(db, actor.id)
        operator.email, operator.notify = email or None, notify
    return Notices(email, notify)
