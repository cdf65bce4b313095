"""Invitations: who gets one, the variables of their e-mail, the outbox messages a batch's
new users get, and the accept-invitation link that sets a password."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Engine, select, update

from userbatch.crypto.passwords import hash_password, password_problems
from userbatch.crypto.tokens import token_hash
from userbatch.db import insert_plain, session
from userbatch.directory.fields import custom_keys
from userbatch.directory.groups import organisation_name
from userbatch.errors import Conflict, Invalid, NotFound
from userbatch.i18n import N_, Sentences, Text
from userbatch.mail.render import SET_PASSWORD_URL, render
from userbatch.models import OutboxMessage, User, utcnow
from userbatch.settings import Settings

USED = N_("This link was used already; sign in with the password you set.")


def gets_invitation(user: dict[str, Any]) -> bool:
    """Only new users that are Valid and have an e-mail address are invited."""
    return user.get("status", "valid") == "valid" and bool(user.get("email"))


def invitation_variables(
    user: dict[str, Any],
    groups: list[str],
    *,
    site_name: str,
    base_url: str,
    custom_keys: Iterable[str] = (),
) -> dict[str, Any]:
    """The template variables for ``user`` (users-table field names) in ``groups``.

    Each of ``custom_keys`` the user has no value for reads as blank: the field is known,
    only empty for this user.
    """
    expiration = user.get("expiration_date")
    return {
        "name": user["name"],
        "display_name": user.get("display_name") or user["name"],
        "login_id": user["login_id"],
        "email": user.get("email") or "",
        "group": next(iter(groups), site_name),
        "set_password_url": SET_PASSWORD_URL,
        "login_url": base_url.rstrip("/"),
        "site_name": site_name,
        "expiration_date": expiration.isoformat() if expiration else "",
        "custom": dict.fromkeys(custom_keys, "") | (user.get("custom") or {}),
    }


def invitation_for(engine: Engine, token: str, *, now: dt.datetime | None = None) -> str:
    """The login ID an unused, unexpired invitation token belongs to.

    Raises ``NotFound`` or ``Conflict`` saying why the link does not work.
    """
    now = now or utcnow()
    with session(engine) as db:
        row = db.execute(
            select(OutboxMessage, User.login_id)
            .join(User, User.id == OutboxMessage.user_id)
            .where(OutboxMessage.token_hash == token_hash(token))
        ).one_or_none()
    if row is None:
        raise NotFound(Text("This link is not valid. Ask your administrator for a new invitation."))
    message, login_id = row
    if message.token_used_at is not None:
        raise Conflict(Text(USED))
    if message.token_expires_at is None or message.token_expires_at < now:
        raise Conflict(Text("This link has expired. Ask your administrator for a new invitation."))
    return str(login_id)


def accept_invitation(
    engine: Engine, settings: Settings, token: str, password: str, *, now: dt.datetime | None = None
) -> str:
    """Set the invited user's password; the token works once. Returns the login ID.

    Raises what ``invitation_for`` raises, or ``Invalid`` for a password the policy refuses.
    """
    now = now or utcnow()
    login_id = invitation_for(engine, token, now=now)
    problems = password_problems(password, min_length=settings.password_min_length, login=login_id)
    if problems:
        raise Invalid(Sentences(*problems))
    password_hash = hash_password(password)
    with engine.begin() as connection:
        used = connection.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.token_hash == token_hash(token), OutboxMessage.token_used_at.is_(None)
            )
            .values(token_used_at=now)
        ).rowcount
        if not used:
            raise Conflict(Text(USED))
        connection.execute(
            update(User)
            .where(User.login_id == login_id)
            .values(password_hash=password_hash, updated_at=now)
        )
    return login_id


def add_invitations(
    connection: Connection,
    engine: Engine,
    settings: Settings,
    *,
    batch_id: str,
    options: dict[str, Any],
    users: Iterable[tuple[int, dict[str, Any], list[str]]],
    now: dt.datetime,
) -> int:
    """Put in the outbox, in ``connection``'s transaction, the invitations a batch's new users
    get: each ``(user id, record, group paths)`` that ``gets_invitation``, rendered with the
    batch's subject and body, due at its send-at time; how many. Raises ``Invalid`` when the
    template cannot be rendered."""
    site = organisation_name(engine) or "userbatch"
    # A user without a value in a custom field reads it as blank, not as unknown.
    keys = custom_keys(engine)
    messages = []
    for user_id, user, groups in users:
        if not gets_invitation(user):
            continue
        variables = invitation_variables(
            user, groups, site_name=site, base_url=settings.base_url, custom_keys=keys
        )
        rendered = render(options["subject"], options["body"], variables)
        messages.append((user_id, user["email"], rendered.subject, rendered.body))
    same = {
        "batch_id": batch_id, "send_at": dt.datetime.fromisoformat(options["send_at"]),
        "state": "scheduled", "attempts": 0, "created_at": now,
    }  # fmt: skip
    insert_plain(
        connection, OutboxMessage.__table__, messages, ("user_id", "recipient", "subject", "body"),
        same=same,
    )  # fmt: skip
    return len(messages)
