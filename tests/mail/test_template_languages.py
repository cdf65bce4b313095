"""E-mail templates in English and Japanese: the versions of a template, the one a batch sends,
the migration that gave templates versions, and the mail userbatch writes itself in the
operator's language."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from email.header import decode_header, make_header
from email.message import Message
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from redis import Redis
from sqlalchemy import select

from tests.batches.test_apply import NEW_ROWS, _store
from tests.check.test_check import H, run_check
from tests.conftest import RunBatch, World
from tests.helpers import Mailbox
from tests.mail.test_templates import GOOD_BODY
from userbatch.admin.operators import set_own_language, set_own_notices
from userbatch.batches.store import Invitation, store_batch
from userbatch.cli.main import main
from userbatch.db import MIGRATIONS, get_engine, session
from userbatch.errors import UserbatchError
from userbatch.i18n import speaking
from userbatch.mail.outbox import send_due
from userbatch.mail.template_check import template_variables, validate_template
from userbatch.mail.templates import (
    create_template,
    default_template,
    delete_version,
    list_templates,
    save_template,
    send_test,
    template_named,
)
from userbatch.models import Batch, OutboxMessage
from userbatch.settings import Settings

JAPANESE_BODY = (
    "{{ name }} 様\n\n次のリンクからパスワードを設定してください。\n{{ set_password_url }}\n"
)


def _outbox(world: World) -> list[OutboxMessage]:
    with session(world.engine) as db:
        return list(db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_a_fresh_installation_has_the_invitation_in_english_and_japanese(world: World) -> None:
    [invitation] = list_templates(world.engine)
    assert invitation.name == "Invitation" and invitation.languages == ["en", "ja"]
    english, japanese = invitation.version("en"), invitation.version("ja")
    assert english.subject == "Welcome to {{ site_name }}"
    assert japanese.subject == "{{ site_name }} のアカウントのご案内"
    assert "様" in japanese.body and "パスワードを設定してください" in japanese.body
    for version in (english, japanese):
        assert validate_template(version.subject, version.body, custom_keys=[]) == []
    # Both read the same variables: a field either one needs, the other needs too.
    assert template_variables(english.subject, english.body) == template_variables(
        japanese.subject, japanese.body
    )


def test_the_reader_gets_their_language_else_the_version_there_is(world: World) -> None:
    reminder = create_template(
        world.engine, world.admin, name="Reminder", subject="A reminder", body=GOOD_BODY
    )
    invitation = default_template(world.engine)
    only_english = template_named(world.engine, "Reminder")
    with speaking("ja"):  # the words of the reader's language, when they are read
        assert invitation.subject == "{{ site_name }} のアカウントのご案内"
        assert (only_english.languages, only_english.subject) == (["en"], "A reminder")
    assert invitation.subject == "Welcome to {{ site_name }}"
    assert only_english.version("ja").language == "en"
    # Saving without a language changes the version shown; with one, that version.
    save_template(
        world.engine, world.admin, template_id=reminder, subject="Erinnerung", body=GOOD_BODY
    )
    save_template(
        world.engine, world.admin, template_id=reminder, subject="リマインダー",
        body=JAPANESE_BODY, language="ja",
    )  # fmt: skip
    saved = template_named(world.engine, "Reminder")
    assert [(v.language, v.subject) for v in saved.versions] == [
        ("en", "Erinnerung"), ("ja", "リマインダー"),
    ]  # fmt: skip


def test_a_template_created_in_japanese_and_its_versions_deleted(world: World) -> None:
    with speaking("ja"):
        notice = create_template(
            world.engine, world.admin, name="お知らせ", subject="お知らせ", body=JAPANESE_BODY
        )
    assert template_named(world.engine, "お知らせ").languages == ["ja"]
    with pytest.raises(UserbatchError, match="has no other version"):
        delete_version(world.engine, world.admin, template_id=notice, language="ja")
    invitation = default_template(world.engine)
    delete_version(world.engine, world.admin, template_id=invitation.id, language="en")
    assert default_template(world.engine).languages == ["ja"]
    with pytest.raises(UserbatchError, match="There is no language 'fr'"):
        save_template(
            world.engine, world.admin, template_id=notice, subject="x", body=GOOD_BODY,
            language="fr",
        )  # fmt: skip


def test_a_template_with_problems_is_refused_in_the_readers_language(world: World) -> None:
    invitation = default_template(world.engine)
    with speaking("ja"), pytest.raises(UserbatchError) as refused:
        save_template(
            world.engine, world.admin, template_id=invitation.id, subject="",
            body="{{ nmae }}", language="ja",
        )  # fmt: skip
    with speaking("ja"):
        message = str(refused.value)
    assert message.startswith("テンプレートに問題があります:")
    assert "件名: 件名を入力してください。" in message
    assert "本文、1 行目: 不明な変数 {{ nmae }} です。{{ name }} のことですか？" in message
    assert default_template(world.engine) == invitation


def test_the_batch_sends_the_version_chosen(world: World, run_batch: RunBatch) -> None:
    japanese = default_template(world.engine).version("ja")
    result = run_check(world, NEW_ROWS)
    invitation = Invitation(
        default_template(world.engine).id, japanese.subject, japanese.body,
        dt.datetime.now(dt.UTC),
    )  # fmt: skip
    batch_id = store_batch(
        world.engine, world.settings, result, operator=world.admin,
        working_group=world.groups[""], invitation=invitation,
    )  # fmt: skip
    run_batch(world, batch_id)
    messages = _outbox(world)
    assert {m.subject for m in messages} == {"Acme のアカウントのご案内"}
    assert "Tanaka 様" in messages[0].body and "Dear" not in messages[0].body


def test_a_test_send_is_marked_in_the_operators_language(world: World) -> None:
    with speaking("ja"):
        send_test(
            world.engine, world.settings, operator=world.admin, recipient="me@example.com",
            subject="ようこそ {{ site_name }}", body=JAPANESE_BODY,
        )  # fmt: skip
    [message] = _outbox(world)
    assert message.subject == "[テスト] ようこそ Acme"


def _text(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def test_the_completion_notice_is_in_the_operators_language(
    world: World, run_batch: RunBatch, smtp: tuple[str, Mailbox]
) -> None:
    url, mailbox = smtp
    set_own_notices(world.engine, world.admin, email="admin@example.com", notify=True)
    set_own_language(world.engine, world.admin, "ja")
    run_batch(world, _store(world, H + "tanaka01,Tanaka,,,,,,,\nyamada01,Yamada,,,,,,,\n"))
    settings = world.settings.model_copy(update={"smtp_url": url})
    assert send_due(world.engine, settings) == {"sent": 1}
    [message] = mailbox.messages
    assert str(make_header(decode_header(message["Subject"]))) == (
        "userbatch: users.csv の処理が完了しました"
    )
    text = _text(message)
    assert "バッチ 'users.csv' が完了しました。2 行中 2 行を処理しました。" in text
    assert "作成 2 件、更新 0 件、変更なし 0 件、失敗 0 件。" in text
    assert "サイドバーの「通知」" in text and "The batch" not in text


def test_an_operator_who_chose_no_language_gets_english(world: World, run_batch: RunBatch) -> None:
    set_own_notices(world.engine, world.admin, email="admin@example.com", notify=True)
    with speaking("ja"):  # the worker's own language is not the operator's
        run_batch(world, _store(world, H + "tanaka01,Tanaka,,,,,,,\n"))
    [notice] = _outbox(world)
    assert notice.subject == "userbatch: users.csv finished"


OLD_TEMPLATES = sa.table(
    "email_templates",
    sa.column("id", sa.Integer), sa.column("name", sa.String), sa.column("subject", sa.String),
    sa.column("body", sa.Text), sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)  # fmt: skip


@pytest.mark.parametrize("customised", [False, True], ids=["as seeded", "customised"])
def test_the_migration_makes_each_template_a_version(settings: Settings, customised: bool) -> None:
    engine = get_engine(settings)
    with engine.begin() as connection:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        command.upgrade(config, "0006")
        now = dt.datetime(2026, 1, 5, 9, 0)
        if customised:
            connection.execute(
                OLD_TEMPLATES.update().values(body="Hello {{ name }}: {{ set_password_url }}")
            )
        connection.execute(
            OLD_TEMPLATES.insert(),
            [
                {"name": "お知らせ", "subject": "{{ site_name }} のお知らせ", "body": JAPANESE_BODY,
                 "created_at": now, "updated_at": now},
                {"name": "Reminder", "subject": "A reminder", "body": GOOD_BODY,
                 "created_at": now, "updated_at": now},
            ],
        )  # fmt: skip
        command.upgrade(config, "head")
    templates = {t.name: t for t in list_templates(engine)}
    assert templates["お知らせ"].languages == ["ja"]
    assert templates["Reminder"].languages == ["en"]
    assert templates["Reminder"].version("en").body == GOOD_BODY
    invitation = templates["Invitation"]
    # A customised Invitation keeps its own words only: the stock Japanese would differ.
    assert invitation.languages == (["en"] if customised else ["en", "ja"])
    if not customised:
        assert invitation.version("ja").subject == "{{ site_name }} のアカウントのご案内"
    # Back down, each template gets its English words, else its Japanese ones.
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0006")
        old = connection.execute(sa.select(OLD_TEMPLATES.c.name, OLD_TEMPLATES.c.subject))
        rows = {row.name: row.subject for row in old}
    assert rows == {
        "Invitation": "Welcome to {{ site_name }}", "お知らせ": "{{ site_name }} のお知らせ",
        "Reminder": "A reminder",
    }  # fmt: skip


def _invitation_subject(world: World) -> str:
    with session(world.engine) as db:
        return str(db.scalars(select(Batch.options)).one()["subject"])


@pytest.mark.parametrize(
    ("argv", "subject"),
    [
        ([], "Welcome to {{ site_name }}"),
        (["--lang", "ja"], "{{ site_name }} のアカウントのご案内"),
        (["--template-language", "ja"], "{{ site_name }} のアカウントのご案内"),
    ],
    ids=["english", "the command's language", "asked for"],
)
def test_the_command_line_sends_its_language_or_the_one_asked_for(
    world: World,
    use_env: Callable[[Settings], None],
    clean_redis: Redis,
    tmp_path: Path,
    argv: list[str],
    subject: str,
) -> None:
    use_env(world.settings)
    path = tmp_path / "users.csv"
    path.write_text("Login ID,Name,Email\r\ntanaka01,Tanaka,tanaka@example.com\r\n")
    lang = argv[:2] if argv[:1] == ["--lang"] else []
    rest = argv[len(lang) :]
    assert main([*lang, "import", str(path), "--invite", *rest]) == 0
    assert _invitation_subject(world) == subject


def test_the_command_line_refuses_a_version_the_template_lacks(
    world: World, use_env: Callable[[Settings], None], tmp_path: Path
) -> None:
    use_env(world.settings)
    create_template(world.engine, world.admin, name="Reminder", subject="R", body=GOOD_BODY)
    path = tmp_path / "users.csv"
    path.write_text("Login ID,Name,Email\r\ntanaka01,Tanaka,tanaka@example.com\r\n")
    argv = ["import", str(path), "--invite", "--template", "Reminder", "--template-language", "ja"]
    assert main(argv) == 2
    with session(world.engine) as db:
        assert db.scalars(select(Batch)).all() == []
