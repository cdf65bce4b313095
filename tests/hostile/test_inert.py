"""HTML, Markdown, links, images, colours and LaTeX in names, cells, group and file names are
text: stored as typed, shown literally on every page, sent verbatim in plain-text mail."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
from sqlalchemy import select, update
from streamlit.testing.v1 import AppTest

from tests.batches.test_apply import _store
from tests.check.test_check import H
from tests.conftest import RunBatch, World
from tests.helpers import Mailbox, grid_column, literal
from userbatch.db import session
from userbatch.mail.outbox import send_due
from userbatch.mail.templates import default_template, save_template
from userbatch.models import Batch, OutboxMessage, User
from userbatch.ui import keys
from userbatch.ui.text import inert

PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "**bold**",
    "[link](javascript:alert(1))",
    "![img](http://127.0.0.1:1/track.png)",
    ":red[x]",
    "$x^2$",
]


def shows_literally(markdown: str, text: str) -> bool:
    """``markdown`` holds ``text`` escaped, and nowhere live."""
    return inert(text) in markdown and text not in markdown and text in literal(markdown)


@pytest.mark.parametrize("text", [*PAYLOADS, "a\\*b", "&lt;b&gt;", "1. x", "# h", "> q"])
def test_inert_escapes_every_construct_and_loses_nothing(text: str) -> None:
    escaped = inert(text)
    assert literal(escaped) == text
    assert all(escaped[i - 1] == "\\" for i, ch in enumerate(escaped) if ch in "*[]<>$:!`&#")


def _hostile_users(world: World) -> World:
    for number, name in enumerate(PAYLOADS, start=1):
        world.add_user(f"user{number:04}", name=name, groups=("Sales",))
    return world


def test_the_batch_grid_and_its_messages(world: World, open_screen: Callable[..., AppTest]) -> None:
    rows = "".join(f"user{n:04},{name},\r\n" for n, name in enumerate(PAYLOADS, start=1))
    data = ("Login ID,Name,Email\r\n" + rows + "bad00001,B,**bold**@x\r\n").encode()
    file_name = "[f](javascript:alert(1)).csv"
    app = open_screen("lib/userbatch/ui/batch/__init__.py")
    app.get("file_uploader")[0].upload(file_name, data, "text/csv")
    app = app.run().button(key="upload_and_check").click().run()
    assert not app.exception
    assert grid_column(app, "name") == [*PAYLOADS, "B"]  # the grid draws text, as typed
    assert shows_literally(app.markdown[0].value, file_name)
    problems = app.expander[-1].markdown[0].value
    assert shows_literally(problems, "'**bold**@x'")


def test_manage_users_list_detail_and_notice(
    world: World, open_screen: Callable[..., AppTest]
) -> None:
    _hostile_users(world)
    app = open_screen("lib/userbatch/ui/users.py")
    assert app.dataframe[0].value["Name"].tolist() == PAYLOADS
    assert app.selectbox(key="open_user").options == [
        f"user{n:04} — {name}" for n, name in enumerate(PAYLOADS, start=1)
    ]
    with session(world.engine) as db:
        user_id = db.scalars(select(User.id).where(User.login_id == "user0004")).one()
    app.selectbox(key="open_user").select(user_id).run()
    detail = dict(app.dataframe[1].value.itertuples(index=False))
    assert detail["Name"] == "[link](javascript:alert(1))"
    login_id = "[x](javascript:1)"  # within the login ID rules
    app.text_input(key=f"edit_login_id_{user_id}").input(login_id)
    app = app.button(key="FormSubmitter:edit_user-Change login ID").click().run()
    assert shows_literally(app.success[0].value, f"'{login_id}'")


def test_groups_tree_and_notice(world: World, open_screen: Callable[..., AppTest]) -> None:
    app = open_screen("lib/userbatch/ui/groups.py")
    app.text_input(key="create_name").input(":red[x] **b**")
    app = app.button(key="FormSubmitter:create_group-Create group").click().run()
    assert shows_literally(app.success[0].value, ":red[x] **b**")
    assert ":red[x] **b**" in app.dataframe[0].value["Path"].tolist()


def test_job_history_and_its_row_outcomes(
    people: World, open_screen: Callable[..., AppTest], run_batch: RunBatch
) -> None:
    batch_id = _store(people, H + "sato0002,![img](http://127.0.0.1:1/t.png),,,,,,,\n")
    file_name = "**big** $x^2$.csv"
    with session(people.engine) as db, db.begin():
        db.execute(update(Batch).where(Batch.id == batch_id).values(file_name=file_name))
    run_batch(people, batch_id)
    app = open_screen("lib/userbatch/ui/jobs.py", **{keys.JOBS_SELECTED: batch_id})
    assert not app.exception
    assert app.dataframe[0].value["File"].tolist() == [file_name]
    assert shows_literally(app.subheader[0].value, file_name)
    assert app.dataframe[1].value["Key"].tolist() == ["sato0002"]


def test_template_preview_with_a_hostile_name(
    world: World, open_screen: Callable[..., AppTest]
) -> None:
    _hostile_users(world)
    template = default_template(world.engine)
    save_template(
        world.engine, world.admin, template_id=template.id, subject="Hi {{ name }}",
        body=template.body,
    )  # fmt: skip
    with session(world.engine) as db:
        ids = db.scalars(select(User.id).order_by(User.login_id)).all()
    app = open_screen("lib/userbatch/ui/email_templates.py")
    for user_id, label in zip(ids, PAYLOADS, strict=True):
        app.selectbox(key="templates_user").set_value(user_id).run()
        subject = next(m.value for m in app.markdown if m.value.startswith("**Subject:**"))
        assert shows_literally(subject, f"Hi {label}"), label


def test_an_invitation_is_plain_text_with_the_name_verbatim(
    world: World, smtp: tuple[str, Mailbox], run_batch: RunBatch
) -> None:
    url, mailbox = smtp
    smtp_world = dataclasses.replace(
        world, settings=world.settings.model_copy(update={"smtp_url": url})
    )
    name = "<b>**Ta**</b> [x](javascript:alert(1))"
    run_batch(smtp_world, _store(smtp_world, H + f"tanaka01,{name},,tanaka@example.com,,,,,\n", invite=True),
    )  # fmt: skip
    with session(world.engine) as db:
        send_at = db.scalars(select(OutboxMessage.send_at)).one()
    assert send_due(world.engine, smtp_world.settings, now=send_at)["sent"] == 1
    [message] = mailbox.to("tanaka@example.com")
    assert message.get_content_type() == "text/plain" and not message.is_multipart()
    assert name in message.get_payload(decode=True).decode()  # type: ignore[union-attr]
