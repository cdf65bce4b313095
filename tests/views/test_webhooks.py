"""The Webhooks screen (lib/userbatch/ui/webhooks.py): an admin adds and removes webhooks and
follows each delivery; a manager is refused."""

from __future__ import annotations

from collections.abc import Callable

from streamlit.testing.v1 import AppTest

from tests.batches.test_apply import _store
from tests.conftest import RunBatch, World
from tests.helpers import literal
from tests.mail.test_webhooks import BATCH
from userbatch.mail.webhooks import add_webhook, list_webhooks, queue_webhook_events
from userbatch.ui import keys

SCREEN = "lib/userbatch/ui/webhooks.py"


def test_an_admin_adds_a_webhook_sees_its_secret_once_and_removes_it(
    world: World, open_screen: Callable[..., AppTest]
) -> None:
    app = open_screen(SCREEN)
    assert not app.exception
    assert "No event has been delivered yet." in [info.value for info in app.info]
    app.text_input(key=keys.WEBHOOK_URL).input("https://hr.example.com/hooks")
    app.button(key=keys.WEBHOOK_ADD).click().run()
    assert not app.exception
    secret = app.code[-1].value
    assert secret.startswith("whsec_")
    (hook,) = list_webhooks(world.engine)
    assert hook.url == "https://hr.example.com/hooks"
    assert any(
        literal(markdown.value).startswith("https://hr.example.com/hooks ·")
        for markdown in app.markdown
    )
    app.text_input(key=keys.WEBHOOK_URL).input("not a url")
    app.button(key=keys.WEBHOOK_ADD).click().run()
    assert "http://" in literal(app.error[-1].value)
    app.button(key=keys.remove_webhook(hook.id)).click().run()
    assert list_webhooks(world.engine) == []
    assert literal(app.success[-1].value) == "The webhook is removed."


def test_a_delivery_is_listed_with_its_state(
    world: World, open_screen: Callable[..., AppTest], run_batch: RunBatch
) -> None:
    add_webhook(world.engine, world.settings, world.admin, "https://hr.example.com/hooks")
    batch_id = _store(world, BATCH)
    assert run_batch(world, batch_id).state == "finished"
    with world.engine.begin() as connection:
        queue_webhook_events(connection, batch_id)  # again: nothing more
    app = open_screen(SCREEN)
    table = app.dataframe[0].value
    assert list(table["Event"]) == ["batch.finished"]
    assert list(table["State"]) == ["waiting"]
