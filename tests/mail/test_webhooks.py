"""Webhooks: a batch's end is delivered, signed, to a receiver on loopback — later when the
receiver is down for a while, once per event, and shown per delivery."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.batches.test_apply import _store
from tests.check.test_check import H
from tests.conftest import RunBatch, RunUndo, World
from userbatch.batches import lifecycle
from userbatch.errors import Invalid, NotAllowed
from userbatch.mail.webhooks import (
    FIRST_WAIT,
    MAX_ATTEMPTS,
    SIGNATURE_HEADER,
    STALE_CLAIM,
    add_webhook,
    deliver_due,
    list_deliveries,
    next_attempt_at,
    sign,
    verify_signature,
)
from userbatch.models import utcnow

BATCH = H + "hook0001,Hook One,,hook1@example.com,,,,,\n"


@dataclass
class Receiver:
    """An HTTP server on loopback that keeps what it was sent; ``down`` answers 503."""

    url: str = ""
    down: bool = False
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    kept = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if kept.down:
                self.send_response(503)
            else:
                kept.received.append((dict(self.headers), body))
                self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    kept.url = f"http://127.0.0.1:{server.server_address[1]}/events"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield kept
    finally:
        server.shutdown()
        server.server_close()


def test_a_finished_batch_is_delivered_later_once_and_signed(
    world: World, run_batch: RunBatch, receiver: Receiver
) -> None:
    _hook, secret = add_webhook(world.engine, world.settings, world.admin, receiver.url)
    batch_id = _store(world, BATCH)
    receiver.down = True
    assert run_batch(world, batch_id).state == "finished"
    (delivery,) = list_deliveries(world.engine)
    assert (delivery.event, delivery.state, delivery.attempts) == ("batch.finished", "pending", 0)

    now = utcnow()
    assert deliver_due(world.engine, world.settings, now=now)["retried"] == 1
    (delivery,) = list_deliveries(world.engine)
    assert (delivery.state, delivery.attempts, delivery.last_error) == ("pending", 1, "HTTP 503")
    assert deliver_due(world.engine, world.settings, now=now) == {
        "delivered": 0,
        "retried": 0,
        "failed": 0,
    }  # fmt: skip — not due again yet
    due = next_attempt_at(world.engine)
    assert due is not None and due >= now + FIRST_WAIT - dt.timedelta(seconds=1)

    receiver.down = False
    later = now + FIRST_WAIT + dt.timedelta(seconds=1)
    assert deliver_due(world.engine, world.settings, now=later)["delivered"] == 1
    assert deliver_due(world.engine, world.settings, now=later + dt.timedelta(days=1)) == {
        "delivered": 0, "retried": 0, "failed": 0
    }  # fmt: skip
    lifecycle.finish(world.engine, batch_id)  # a job run again ends nothing twice
    assert len(list_deliveries(world.engine)) == 1

    ((headers, body),) = receiver.received
    assert verify_signature(secret, body, headers[SIGNATURE_HEADER])
    assert not verify_signature("another secret", body, headers[SIGNATURE_HEADER])
    assert not verify_signature(secret, body + b" ", headers[SIGNATURE_HEADER])
    event = json.loads(body)
    assert event["type"] == "batch.finished" and headers["Userbatch-Event"] == "batch.finished"
    assert headers["Userbatch-Delivery"] == event["id"]
    assert event["data"]["batch"] == batch_id and event["data"]["counts"]["created"] == 1
    (delivery,) = list_deliveries(world.engine)
    assert (delivery.state, delivery.attempts) == ("delivered", 2)


def test_an_undo_is_an_event_of_the_batch_it_undid(
    world: World, run_batch: RunBatch, run_undo: RunUndo, receiver: Receiver
) -> None:
    add_webhook(world.engine, world.settings, world.admin, receiver.url, events=("batch.undone",))
    batch_id = _store(world, BATCH)
    run_batch(world, batch_id)
    undo = run_undo(world, batch_id)
    assert deliver_due(world.engine, world.settings)["delivered"] == 1
    ((_headers, body),) = receiver.received
    event = json.loads(body)
    assert event["type"] == "batch.undone"
    assert (event["data"]["batch"], event["data"]["undo"]) == (batch_id, undo.id)


def test_a_receiver_down_for_good_fails_the_delivery_after_its_attempts(
    world: World, run_batch: RunBatch, receiver: Receiver
) -> None:
    add_webhook(world.engine, world.settings, world.admin, receiver.url)
    receiver.down = True
    run_batch(world, _store(world, BATCH))
    when = utcnow()
    for _ in range(MAX_ATTEMPTS):
        deliver_due(world.engine, world.settings, now=when)
        when += dt.timedelta(days=1)
    (delivery,) = list_deliveries(world.engine)
    assert (delivery.state, delivery.attempts) == ("failed", MAX_ATTEMPTS)
    assert next_attempt_at(world.engine) is None


def test_a_claim_whose_worker_died_is_delivered_again(
    world: World, run_batch: RunBatch, receiver: Receiver
) -> None:
    add_webhook(world.engine, world.settings, world.admin, receiver.url)
    run_batch(world, _store(world, BATCH))
    with world.engine.begin() as connection:  # as a worker does, just before it dies
        connection.exec_driver_sql("UPDATE webhook_deliveries SET state = 'sending'")
    assert deliver_due(world.engine, world.settings)["delivered"] == 0
    stale = utcnow() + STALE_CLAIM + dt.timedelta(seconds=1)
    assert deliver_due(world.engine, world.settings, now=stale)["delivered"] == 1
    assert len(receiver.received) == 1


def test_only_administrators_register_and_only_web_addresses(world: World) -> None:
    manager = world.manager("lead", "Sales")
    with pytest.raises(NotAllowed):
        add_webhook(world.engine, world.settings, manager, "https://example.com/hook")
    for url in ("ftp://example.com/x", "example.com/hook", "https://"):
        with pytest.raises(Invalid):
            add_webhook(world.engine, world.settings, world.admin, url)
    with pytest.raises(Invalid):
        add_webhook(world.engine, world.settings, world.admin, "https://e.com", events=("x",))


def test_a_stale_signature_is_refused() -> None:
    stamp = 1_800_000_000
    header = sign("s3cret", b"{}", stamp)
    assert verify_signature("s3cret", b"{}", header, now=stamp + 10)
    assert not verify_signature("s3cret", b"{}", header, now=stamp + 3600)
    assert not verify_signature("s3cret", b"{}", "garbage")
