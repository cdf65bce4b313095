"""Invitations over real SMTP: the right content at the right time, exactly once."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from email.message import Message

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from tests.batches.test_apply import NEW_ROWS, _store
from tests.conftest import RunBatch, World
from tests.helpers import Mailbox, free_port
from userbatch.crypto.passwords import verify_password
from userbatch.crypto.tokens import token_hash
from userbatch.db import session
from userbatch.errors import UserbatchError
from userbatch.mail.invitations import accept_invitation
from userbatch.mail.outbox import (
    INTERRUPTED,
    STALE_CLAIM,
    cancel_scheduled,
    fail_interrupted,
    send_due,
)
from userbatch.models import OutboxMessage, User
from userbatch.settings import Settings


def _invite(
    world: World, run_batch: RunBatch, smtp_url: str, **settings: object
) -> tuple[Settings, dt.datetime]:
    configured = dataclasses.replace(
        world, settings=world.settings.model_copy(update={"smtp_url": smtp_url, **settings})
    )
    run_batch(configured, _store(configured, NEW_ROWS, invite=True))
    with session(world.engine) as db:
        send_at = db.scalars(select(OutboxMessage.send_at)).first()
    assert send_at is not None
    return configured.settings, send_at


def _link(message: Message) -> str:
    body = message.get_payload(decode=True).decode()  # type: ignore[union-attr]
    return next(line for line in body.splitlines() if "/accept?token=" in line).strip()


def test_invitations_arrive_with_the_right_content(
    world: World, smtp: tuple[str, Mailbox], run_batch: RunBatch
) -> None:
    url, mailbox = smtp
    settings, send_at = _invite(world, run_batch, url)
    assert send_due(world.engine, settings, now=send_at)["sent"] == 2
    [message] = mailbox.to("tanaka@example.com")
    assert message["Subject"] == "Welcome to Acme"
    assert message["From"] == "userbatch@localhost"
    body = message.get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert "Dear Tanaka," in body and "Login ID: tanaka01" in body
    token = _link(message).split("token=", 1)[1]
    with session(world.engine) as db:
        stored = db.scalars(
            select(OutboxMessage).where(OutboxMessage.recipient == "tanaka@example.com")
        ).one()
    assert stored.state == "sent" and stored.transport == "smtp"
    assert token not in stored.body and stored.token_hash == token_hash(token)


def test_nothing_goes_out_before_send_at(
    world: World, smtp: tuple[str, Mailbox], run_batch: RunBatch
) -> None:
    url, mailbox = smtp
    settings, send_at = _invite(world, run_batch, url)
    assert send_due(world.engine, settings, now=send_at - dt.timedelta(seconds=1)) == {}
    assert mailbox.messages == []


def _states(world: World) -> dict[str, str]:
    with session(world.engine) as db:
        rows = db.execute(select(OutboxMessage.recipient, OutboxMessage.state)).all()
    return {recipient: state for recipient, state in rows}


def test_canceled_invitations_never_go_out(
    world: World, smtp: tuple[str, Mailbox], run_batch: RunBatch
) -> None:
    url, mailbox = smtp
    settings, send_at = _invite(world, run_batch, url)
    with session(world.engine) as db:
        tanaka, batch_id = db.execute(
            select(OutboxMessage.id, OutboxMessage.batch_id).where(
                OutboxMessage.recipient == "tanaka@example.com"
            )
        ).one()
    sales = world.manager("sales-lead", "Sales")  # not their batch: nothing happens
    assert cancel_scheduled(world.engine, sales, batch_id=batch_id) == 0
    assert cancel_scheduled(world.engine, world.admin, message_id=tanaka) == 1
    assert _states(world) == {"tanaka@example.com": "canceled", "suzuki@example.com": "scheduled"}
    assert cancel_scheduled(world.engine, world.admin, batch_id=batch_id) == 1  # the rest
    assert send_due(world.engine, settings, now=send_at + dt.timedelta(days=1)) == {}
    assert mailbox.messages == []
    assert set(_states(world).values()) == {"canceled"}


def test_a_sent_invitation_is_not_canceled(
    world: World, smtp: tuple[str, Mailbox], run_batch: RunBatch
) -> None:
    url, _ = smtp
    settings, send_at = _invite(world, run_batch, url)
    assert send_due(world.engine, settings, now=send_at)["sent"] == 2
    with session(world.engine) as db:
        batch_id = db.scalars(select(OutboxMessage.batch_id)).first()
    assert cancel_scheduled(world.engine, world.admin, batch_id=batch_id) == 0
    assert set(_states(world).values()) == {"sent"}


def test_a_refusing_server_gets_every_message_exactly_once(
    world: World, smtp: tuple[str, Mailbox], run_batch: RunBatch
) -> None:
    url, mailbox = smtp
    settings, now = _invite(world, run_batch, url, mail_retry_seconds=10)
    mailbox.refuse = 3
    for _ in range(6):
        send_due(world.engine, settings, now=now)
        now += dt.timedelta(seconds=60)
    assert mailbox.refused == 3
    assert sorted(m["To"] for m in mailbox.messages) == ["suzuki@example.com", "tanaka@example.com"]
    with session(world.engine) as db:
        rows = db.execute(
            select(OutboxMessage.state, OutboxMessage.attempts, OutboxMessage.last_error)
        ).all()
    assert {state for state, _, _ in rows} == {"sent"}
    assert sum(attempts for _, attempts, _ in rows) == 5


def test_a_server_that_is_down_gets_every_message_once_it_is_back(
    world: World, run_batch: RunBatch
) -> None:
    port = free_port()  # nothing listens there yet: the connection is refused
    settings, now = _invite(world, run_batch, f"smtp://127.0.0.1:{port}", mail_retry_seconds=10)
    assert send_due(world.engine, settings, now=now) == {"scheduled": 2}
    with session(world.engine) as db:
        errors = set(db.scalars(select(OutboxMessage.last_error)))
    assert len(errors) == 1 and "Connection refused" in str(errors.pop())
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()  # the server is back
    try:
        # Not before the wait: the next try comes 10 s after the refusal, then every message.
        assert send_due(world.engine, settings, now=now + dt.timedelta(seconds=5)) == {}
        assert send_due(world.engine, settings, now=now + dt.timedelta(seconds=10)) == {"sent": 2}
        assert send_due(world.engine, settings, now=now + dt.timedelta(hours=1)) == {}
    finally:
        controller.stop()
    assert sorted(m["To"] for m in mailbox.messages) == ["suzuki@example.com", "tanaka@example.com"]
    with session(world.engine) as db:
        assert set(db.execute(select(OutboxMessage.state, OutboxMessage.attempts))) == {("sent", 2)}


def test_a_message_that_keeps_failing_is_marked_failed(
    world: World, smtp: tuple[str, Mailbox], run_batch: RunBatch
) -> None:
    url, mailbox = smtp
    settings, now = _invite(world, run_batch, url, mail_retry_seconds=1, mail_max_attempts=2)
    mailbox.refuse = 100
    for _ in range(4):
        send_due(world.engine, settings, now=now)
        now += dt.timedelta(seconds=10)
    with session(world.engine) as db:
        rows = db.execute(
            select(OutboxMessage.state, OutboxMessage.attempts, OutboxMessage.last_error)
        ).all()
    assert [(state, attempts) for state, attempts, _ in rows] == [("failed", 2), ("failed", 2)]
    assert all("451" in (error or "") for _, _, error in rows)


def test_concurrent_senders_send_each_message_once(
    world: World, smtp: tuple[str, Mailbox], run_batch: RunBatch
) -> None:
    url, mailbox = smtp
    settings, now = _invite(world, run_batch, url)
    threads = [
        threading.Thread(target=send_due, args=(world.engine, settings, now)) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(m["To"] for m in mailbox.messages) == ["suzuki@example.com", "tanaka@example.com"]


def test_a_claim_left_by_a_dead_worker_is_not_sent_twice(
    world: World, smtp: tuple[str, Mailbox], run_batch: RunBatch
) -> None:
    url, mailbox = smtp
    settings, now = _invite(world, run_batch, url)
    with session(world.engine) as db, db.begin():
        for message in db.scalars(select(OutboxMessage)):
            message.state, message.claimed_at = "sending", now  # as a worker killed mid-send
    assert fail_interrupted(world.engine, now + STALE_CLAIM + dt.timedelta(seconds=1)) == 2
    assert send_due(world.engine, settings, now=now + STALE_CLAIM * 2) == {}
    with session(world.engine) as db:
        assert set(db.scalars(select(OutboxMessage.last_error))) == {INTERRUPTED}
    assert mailbox.messages == []


def test_the_link_sets_the_password_once(
    world: World, smtp: tuple[str, Mailbox], run_batch: RunBatch
) -> None:
    url, mailbox = smtp
    settings, now = _invite(world, run_batch, url)
    send_due(world.engine, settings, now=now)
    token = _link(mailbox.to("suzuki@example.com")[0]).split("token=", 1)[1]
    with pytest.raises(UserbatchError, match="at least 8 characters"):
        accept_invitation(world.engine, settings, token, "short1")
    assert accept_invitation(world.engine, settings, token, "brand-new-pass-1") == "suzuki01"
    with session(world.engine) as db:
        user = db.scalars(select(User).where(User.login_id == "suzuki01")).one()
    assert verify_password(user.password_hash or "", "brand-new-pass-1")
    with pytest.raises(UserbatchError, match="used already"):
        accept_invitation(world.engine, settings, token, "another-pass-2")
    with pytest.raises(UserbatchError, match="not valid"):
        accept_invitation(world.engine, settings, "made-up-token", "another-pass-2")


def test_the_link_expires(world: World, smtp: tuple[str, Mailbox], run_batch: RunBatch) -> None:
    url, mailbox = smtp
    settings, now = _invite(world, run_batch, url, invitation_days=1)
    send_due(world.engine, settings, now=now)
    token = _link(mailbox.to("tanaka@example.com")[0]).split("token=", 1)[1]
    later = now + dt.timedelta(days=1, seconds=1)
    with pytest.raises(UserbatchError, match="expired"):
        accept_invitation(world.engine, settings, token, "brand-new-pass-1", now=later)
