"""The operator hears when a batch or an undo ends (through the outbox, to a real SMTP
server); without an SMTP server a message is "kept", never "sent"."""

from __future__ import annotations

from email.message import Message

import pytest
from sqlalchemy import select

from tests.batches.test_apply import _store
from tests.check.test_check import H
from tests.conftest import RunBatch, RunUndo, World
from tests.helpers import Mailbox
from userbatch.admin.operators import own_notices, set_own_notices
from userbatch.batches.history import job_document
from userbatch.db import session
from userbatch.errors import Invalid
from userbatch.mail.outbox import send_due
from userbatch.models import OutboxMessage


def _text(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def test_the_operator_is_told_of_the_batch_and_its_undo_with_a_link(
    world: World, run_batch: RunBatch, run_undo: RunUndo, smtp: tuple[str, Mailbox]
) -> None:
    url, mailbox = smtp
    set_own_notices(world.engine, world.admin, email="Admin@Example.com", notify=True)
    batch_id = _store(world, H + "tanaka01,Tanaka,,,,,,,\nyamada01,Yamada,,,,,,,\n")
    run_batch(world, batch_id)
    undo = run_undo(world, batch_id)
    settings = world.settings.model_copy(
        update={"smtp_url": url, "base_url": "https://users.example.com/"}
    )
    assert send_due(world.engine, settings) == {"sent": 2}
    first, second = sorted(mailbox.messages, key=lambda m: "Undo" in str(m["Subject"]))
    assert first["To"] == "Admin@example.com"
    assert first["Subject"] == "userbatch: users.csv finished"
    text = _text(first)
    assert "The batch 'users.csv' has finished: 2 of 2 rows." in text
    assert "2 created, 0 updated, 0 unchanged, 0 failed." in text
    assert f"https://users.example.com/background?batch={batch_id}" in text
    assert second["Subject"] == "userbatch: Undo of users.csv finished"
    assert "2 deleted" in _text(second) and undo.id in _text(second)
    # A notice is no invitation of the batch.
    assert job_document(world.engine, batch_id)["invitations"] == {
        "scheduled": 0, "sent": 0, "kept": 0, "failed": 0,
    }  # fmt: skip


def test_no_notice_when_switched_off_or_without_an_address(
    world: World, run_batch: RunBatch
) -> None:
    run_batch(world, _store(world, H + "tanaka01,Tanaka,,,,,,,\n"))
    set_own_notices(world.engine, world.admin, email="admin@example.com", notify=False)
    run_batch(world, _store(world, H + "yamada01,Yamada,,,,,,,\n"))
    with session(world.engine) as db:
        assert db.scalars(select(OutboxMessage)).all() == []
    assert own_notices(world.engine, world.admin).notify is False
    with pytest.raises(Invalid, match="is not an e-mail address"):
        set_own_notices(world.engine, world.admin, email="admin@", notify=True)


def test_without_smtp_a_message_is_kept_not_sent(world: World, run_batch: RunBatch) -> None:
    batch_id = _store(world, H + "tanaka01,Tanaka,,tanaka@example.com,,,,,\n", invite=True)
    run_batch(world, batch_id)
    assert send_due(world.engine, world.settings) == {"kept": 1}
    assert job_document(world.engine, batch_id)["invitations"] == {
        "scheduled": 0, "sent": 0, "kept": 1, "failed": 0,
    }  # fmt: skip
