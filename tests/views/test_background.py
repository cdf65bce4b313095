"""lib/userbatch/ui/jobs.py, lib/userbatch/ui/outbox.py and lib/userbatch/ui/accept.py through AppTest."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from redis import Redis
from rq import Queue, SimpleWorker
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from tests.batches.test_apply import NEW_ROWS, _store
from tests.check.test_check import H
from tests.conftest import ROOT, RunBatch, World
from tests.helpers import free_port, literal
from userbatch.crypto.passwords import verify_password
from userbatch.db import session
from userbatch.errors import UserbatchError
from userbatch.mail.outbox import reissue_link, send_due, send_message
from userbatch.models import OutboxMessage, User
from userbatch.worker.connection import QUEUE_NAME
from userbatch.worker.submit import enqueue_batch


def test_the_history_lists_batches_and_opens_one(
    world: World, open_screen: Callable[..., AppTest], clean_redis: Redis, run_batch: RunBatch
) -> None:
    finished = _store(world, NEW_ROWS, invite=True)
    run_batch(world, finished)
    waiting = _store(world, H + "kimura01,Kimura,,,,,,,\n")
    enqueue_batch(world.engine, world.settings, waiting)
    app = open_screen("lib/userbatch/ui/jobs.py", world.admin)
    assert not app.exception
    table = app.dataframe[0].value
    assert table["State"].tolist() == ["queued", "finished"]
    assert table["Created"].tolist() == [0, 4]
    assert table["Progress"].tolist() == [0.0, 1.0]
    assert table["Invitations"].tolist() == ["—", "2 scheduled"]
    app.session_state["jobs_selected"] = finished
    app.run()
    assert [m.value for m in app.metric] == ["4", "0", "0", "0"]
    assert app.button(key="retry_batch").disabled and app.button(key="cancel_batch").disabled
    rows = app.dataframe[1].value
    assert rows["Result"].tolist() == ["created"] * 4
    assert app.dataframe[2].value["Recipient"].tolist() == [
        "tanaka@example.com",
        "suzuki@example.com",
    ]
    app.session_state["jobs_selected"] = waiting
    app.run()
    app.button(key="cancel_batch").click().run()
    assert app.dataframe[0].value["State"].tolist() == ["canceled", "finished"]


def test_the_history_counts_each_batch_rows_and_invitations(
    world: World, open_screen: Callable[..., AppTest], run_batch: RunBatch
) -> None:
    invited = _store(world, NEW_ROWS, invite=True)
    run_batch(world, invited)
    with session(world.engine) as db:
        suzuki, tanaka = db.scalars(select(OutboxMessage).order_by(OutboxMessage.recipient))
    send_message(world.engine, world.settings, tanaka.id, now=tanaka.send_at)  # no SMTP: kept
    refused = world.settings.model_copy(
        update={"smtp_url": f"smtp://127.0.0.1:{free_port()}", "mail_max_attempts": 1}
    )
    send_message(world.engine, refused, suzuki.id, now=suzuki.send_at)
    mixed = _store(
        world,
        H
        + "yamada01,Yamada,,,,,,,\n"  # as created: unchanged
        + "inoue001,Inoue,,inoue@example.com,,Support,Suspended,,\n"  # a department: updated
        + "kimura01,Kimura,,,,,,,\n",
    )
    world.add_user("kimura01", name="Kimura")  # registered after the check: the row fails
    run_batch(world, mixed)
    app = open_screen("lib/userbatch/ui/jobs.py", world.admin)
    assert not app.exception
    table = app.dataframe[0].value
    columns = ["Created", "Updated", "Unchanged", "Failed", "Invitations"]
    assert table[columns].to_dict("records") == [
        {"Created": 0, "Updated": 1, "Unchanged": 1, "Failed": 1, "Invitations": "—"},
        {"Created": 4, "Updated": 0, "Unchanged": 0, "Failed": 0,
         "Invitations": "1 kept · 1 failed"},
    ]  # fmt: skip
    assert list(table.columns[:5]) == ["File", "Operator", "Working group", "State", "Progress"]
    assert any(c.value.startswith("Times are in ") for c in app.main.caption)


def test_a_manager_sees_only_their_batches(
    world: World, open_screen: Callable[..., AppTest], clean_redis: Redis
) -> None:
    _store(world, NEW_ROWS)
    app = open_screen("lib/userbatch/ui/jobs.py", world.manager("sales-lead", "Sales"))
    assert "No batches yet" in literal(app.info[0].value)


def test_the_outbox_keeps_mail_and_reissues_a_link(
    world: World, open_screen: Callable[..., AppTest], run_batch: RunBatch
) -> None:
    run_batch(world, _store(world, NEW_ROWS, invite=True))
    with session(world.engine) as db:
        send_at = db.scalars(select(OutboxMessage.send_at)).first()
    assert send_at is not None
    send_due(world.engine, world.settings, now=send_at)
    app = open_screen("lib/userbatch/ui/outbox.py", world.admin)
    assert "SMTP_URL is not set" in literal(app.info[0].value)
    assert app.dataframe[0].value["State"].tolist() == ["kept", "kept"]


def test_the_outbox_cancels_scheduled_invitations(
    world: World, open_screen: Callable[..., AppTest], run_batch: RunBatch
) -> None:
    run_batch(world, _store(world, NEW_ROWS, invite=True))
    selected = {"selection": {"rows": [0], "columns": []}}
    app = open_screen("lib/userbatch/ui/outbox.py", world.admin, outbox_table=selected)
    app.button(key="cancel_message").click().run()
    assert [literal(s.value) for s in app.success] == ["Canceled 1 scheduled message(s)."]
    assert app.dataframe[0].value["State"].tolist() == ["canceled", "scheduled"]
    assert not [b for b in app.button if b.key == "cancel_message"]  # no longer waiting
    app.session_state["outbox_table"] = {"selection": {"rows": [1], "columns": []}}
    app.run().button(key="cancel_batch_mail").click().run()  # the rest of its batch
    assert [literal(s.value) for s in app.success] == ["Canceled 1 scheduled message(s)."]
    assert app.dataframe[0].value["State"].tolist() == ["canceled", "canceled"]


def test_accepting_an_invitation_sets_the_password(
    world: World, open_screen: Callable[..., AppTest], run_batch: RunBatch
) -> None:
    run_batch(world, _store(world, NEW_ROWS, invite=True))
    with session(world.engine) as db:
        message = db.scalars(
            select(OutboxMessage).where(OutboxMessage.recipient == "suzuki@example.com")
        ).one()
    send_due(world.engine, world.settings, now=message.send_at)
    token = reissue_link(world.engine, world.settings, world.admin, message.id).split("token=", 1)[
        1
    ]
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    app.query_params["token"] = token
    app.switch_page("lib/userbatch/ui/accept.py").run()
    assert not app.exception
    assert "login ID **suzuki01**" in app.markdown[0].value
    app.text_input(key="accept_password").input("brand-new-pass-1")
    app.text_input(key="accept_confirm").input("brand-new-pass-1")
    app.button[0].click().run()
    assert "Your password is set" in literal(app.success[0].value)
    with session(world.engine) as db:
        user = db.scalars(select(User).where(User.login_id == "suzuki01")).one()
    assert verify_password(user.password_hash or "", "brand-new-pass-1")


def test_a_bad_link_says_so(world: World, open_screen: Callable[..., AppTest]) -> None:
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    app.query_params["token"] = "nope"
    app.switch_page("lib/userbatch/ui/accept.py").run()
    assert "This link is not valid" in literal(app.error[0].value)


def test_a_manager_reissues_links_of_their_own_batches_only(
    world: World, run_batch: RunBatch
) -> None:
    run_batch(world, _store(world, NEW_ROWS, invite=True))
    with session(world.engine) as db:
        message = db.scalars(select(OutboxMessage)).first()
    assert message is not None
    send_due(world.engine, world.settings, now=message.send_at)
    manager = world.manager("mgr", "Sales")
    with pytest.raises(UserbatchError, match="no unused set-password link"):
        reissue_link(world.engine, world.settings, manager, message.id)
    assert "token=" in reissue_link(world.engine, world.settings, world.admin, message.id)


def test_a_batch_is_undone_from_its_detail_after_a_preview(
    world: World, open_screen: Callable[..., AppTest], clean_redis: Redis, run_batch: RunBatch
) -> None:
    world.add_user("sato0002", name="Sato", department="Sales", groups=("Sales",))
    batch_id = _store(world, H + "tanaka01,Tanaka,,,,,,,\nsato0002,Sato,,,,Support,,,\n")
    run_batch(world, batch_id)
    app = open_screen("lib/userbatch/ui/jobs.py", world.admin, jobs_selected=batch_id)
    assert not app.exception
    app.button(key="undo_open").click().run()
    assert [m.value for m in app.metric][4:] == ["1", "0", "1", "0", "0"]
    preview = app.dataframe[1].value
    assert preview[["Key", "Undo", "Field", "Before", "Batch", "Now"]].values.tolist() == [
        ["tanaka01", "delete", "", "", "", ""],
        ["sato0002", "restore", "Department", "Sales", "Support", "Support"],
    ]
    app.button(key="undo_execute").click().run()
    assert not app.exception
    undo_id = app.session_state["jobs_selected"]
    assert undo_id != batch_id
    assert app.dataframe[0].value["File"].tolist()[0] == "Undo of users.csv"
    assert any("is the undo of 'users.csv'" in literal(i.value) for i in app.info)
    SimpleWorker([Queue(QUEUE_NAME, connection=clean_redis)], connection=clean_redis).work(
        burst=True
    )
    app.button(key="show_linked_batch").click().run()
    assert app.session_state["jobs_selected"] == batch_id
    infos = [literal(i.value) for i in app.info]
    assert any("was undone by 'Undo of users.csv' (finished)" in i for i in infos), infos
    assert app.button(key="undo_open").disabled
    with session(world.engine) as db:
        assert db.scalars(select(User.department)).all() == ["Sales"]
