"""Secrets: after a batch with passwords and invitations has run on the real worker and its
mail has gone out over SMTP, no clear-text password or invitation token is anywhere — in
Redis (every key, every job payload), in any table, in the logs — only hashes."""

from __future__ import annotations

import datetime as dt
import logging
import re
import zlib
from collections.abc import Callable, Iterator

import pytest
from redis import Redis
from rq import Queue, SimpleWorker
from sqlalchemy import select

from tests.check.test_check import run_check
from tests.conftest import World
from tests.helpers import Mailbox
from userbatch.batches.history import get_batch
from userbatch.batches.store import Invitation, store_batch
from userbatch.crypto.passwords import verify_password
from userbatch.crypto.tokens import token_hash
from userbatch.db import session
from userbatch.mail.outbox import send_due
from userbatch.mail.templates import default_template
from userbatch.models import Base, OutboxMessage, User
from userbatch.settings import Settings
from userbatch.worker.connection import QUEUE_NAME
from userbatch.worker.submit import enqueue_batch

PASSWORDS = {f"secret{n:02d}": f"Plain-Text-{n}-Hunter2!" for n in range(4)}


def _redis_values(redis: Redis) -> Iterator[bytes]:
    """Every key and value in Redis, with RQ's compressed job payloads unpacked."""
    for key in redis.scan_iter(count=1000):
        yield key
        kind = redis.type(key).decode()
        values: list[bytes] = []
        if kind == "string":
            values = [redis.get(key) or b""]
        elif kind == "hash":
            values = [part for pair in redis.hgetall(key).items() for part in pair]
        elif kind == "list":
            values = redis.lrange(key, 0, -1)
        elif kind == "set":
            values = list(redis.smembers(key))
        elif kind == "zset":
            values = redis.zrange(key, 0, -1)
        elif kind == "stream":
            values = [repr(entry).encode() for entry in redis.xrange(key)]
        for value in values:
            yield value
            try:
                unpacked = zlib.decompress(value)
            except zlib.error:
                continue
            yield unpacked


def _table_text(world: World) -> str:
    with session(world.engine) as db:
        return "\n".join(
            repr(tuple(row)) for table in Base.metadata.sorted_tables
            for row in db.execute(select(table))
        )  # fmt: skip


def test_no_clear_text_password_or_token_is_kept_anywhere(
    world: World, clean_redis: Redis, use_env: Callable[[Settings], None],
    smtp: tuple[str, Mailbox], caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    caplog.set_level(logging.DEBUG)
    url, mailbox = smtp
    settings = world.settings.model_copy(update={"smtp_url": url})
    use_env(settings)
    text = "Login ID,Name,Email,Password\n" + "".join(
        f"{login},{login.title()},{login}@example.com,{password}\n"
        for login, password in PASSWORDS.items()
    )
    template = default_template(world.engine)
    batch_id = store_batch(
        world.engine, settings, run_check(world, text), operator=world.admin,
        working_group=world.groups[""],
        invitation=Invitation(template.id, template.subject, template.body,
                              dt.datetime.now(dt.UTC)),
    )  # fmt: skip
    job_id = enqueue_batch(world.engine, settings, batch_id)
    queue = Queue(QUEUE_NAME, connection=clean_redis)
    job = queue.fetch_job(job_id)
    assert job is not None and job.args == (batch_id,)  # ids only, never cells
    SimpleWorker([queue], connection=clean_redis).work(burst=True)
    assert get_batch(world.engine, batch_id).state == "finished"
    send_due(world.engine, settings)  # what the worker's mail sweep has not sent yet
    assert len(mailbox.messages) == len(PASSWORDS)

    tokens = [
        found
        for message in mailbox.messages
        for found in re.findall(r"token=([A-Za-z0-9_\-]+)", message.get_payload(decode=True).decode())
    ]  # fmt: skip
    assert len(tokens) == len(PASSWORDS)
    secrets = [password.encode() for password in PASSWORDS.values()]
    secrets += [token.encode() for token in tokens]

    redis_text = list(_redis_values(clean_redis))
    # The scans can see: the batch id is inside a compressed job payload, a user's e-mail in
    # the tables.
    assert any(batch_id.encode() in value for value in redis_text)
    for secret in secrets:
        assert not any(secret in value for value in redis_text), secret
    tables = _table_text(world)
    assert "secret00@example.com" in tables
    logs = b"".join(path.read_bytes() for path in settings.data_dir.rglob("*") if path.is_file()
                    and path.suffix in (".log", ".txt", ".json"))  # fmt: skip
    # What this process logged (the test SMTP server's own log of what it received aside).
    logged = "\n".join(
        record.getMessage() for record in caplog.records if record.name != "mail.log"
    )
    for secret in secrets:
        assert secret.decode() not in tables, secret
        assert secret not in logs and secret.decode() not in logged, secret

    with session(world.engine) as db:
        hashes = dict(db.execute(select(User.login_id, User.password_hash)).all())
        stored_tokens = set(db.scalars(select(OutboxMessage.token_hash)))
    for login, password in PASSWORDS.items():
        assert hashes[login].startswith("$argon2id$") and verify_password(hashes[login], password)
    assert {token_hash(token) for token in tokens} <= stored_tokens
