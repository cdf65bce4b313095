"""The E-mail templates screen and the Execute dialog's template, in Japanese and English:
the versions of a template, the one shown and the one sent."""

from __future__ import annotations

import json
from collections.abc import Callable

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from tests.conftest import World
from tests.helpers import literal
from tests.mail.test_template_languages import JAPANESE_BODY
from tests.mail.test_templates import GOOD_BODY
from tests.views.test_batch_upload import CLEAN, _upload
from userbatch.db import session
from userbatch.i18n import speaking
from userbatch.mail.outbox import list_messages
from userbatch.mail.templates import create_template, default_template, template_named
from userbatch.models import Batch
from userbatch.ui import keys

SCREEN = "lib/userbatch/ui/email_templates.py"
BATCH = "lib/userbatch/ui/batch/__init__.py"
JA = {keys.LANGUAGE: "ja"}


def test_the_screen_speaks_japanese_and_shows_the_japanese_version(
    world: World, open_screen: Callable[..., AppTest]
) -> None:
    invitation = default_template(world.engine)
    with speaking("ja"):  # the test's side formats the choices too
        app = open_screen(SCREEN, **JA)
        assert not app.exception
        assert app.title[0].value == "メールテンプレート"
        frame = app.dataframe[0].value
        config = json.loads(app.dataframe[0].proto.columns)
        assert [config[key]["label"] for key in frame.columns] == ["テンプレート名", "件名", "言語"]
        assert frame["Subject"].tolist() == ["{{ site_name }} のアカウントのご案内"]
        assert frame["Languages"].tolist() == ["英語、日本語"]
        assert app.radio(key=keys.template_language(invitation.id)).value == "ja"
        prefix = f"template_{invitation.id}_ja"
        assert (
            app.text_input(key=f"{prefix}_subject").value == "{{ site_name }} のアカウントのご案内"
        )
        assert app.text_input(key=f"{prefix}_name").label == "テンプレート名"
        texts = [t.value for t in app.text]
        assert any("Hanako Yamada 様" in text for text in texts)  # the preview, in Japanese
        labels = [b.label for b in app.button]
        assert "保存" in labels and "テストを送信" in labels and "Save" not in labels
        app.text_area(key=f"{prefix}_body").input("{{ nmae }} 様").run()
        assert "本文、1 行目: 不明な変数 {{ nmae }} です。{{ name }} のことですか？" in literal(
            app.error[0].value
        )
        app.text_area(key=f"{prefix}_body").input(JAPANESE_BODY).run()
        app.button(key=f"{prefix}_save").click().run()
        assert literal(app.success[0].value) == "'Invitation' を保存しました。"
        saved = default_template(world.engine)
        assert saved.version("ja").body == JAPANESE_BODY
        assert saved.version("en") == invitation.version("en")


def test_a_japanese_version_is_added_and_deleted(
    world: World, open_screen: Callable[..., AppTest]
) -> None:
    reminder = create_template(
        world.engine, world.admin, name="Reminder", subject="A reminder", body=GOOD_BODY
    )
    with speaking("ja"):  # the test's side formats the choices too
        app = open_screen(SCREEN, **JA)
        app.selectbox(key="templates_choice").select(reminder).run()
        picker = app.radio(key=keys.template_language(reminder))
        assert picker.value == "en"  # the version it has
        assert app.text_input(key=f"template_{reminder}_subject").value == "A reminder"
        picker.set_value("ja").run()
        assert "'Reminder' には日本語版がまだありません" in literal(app.info[0].value)
        assert not [b for b in app.button if b.key == f"template_{reminder}_ja_save"]
        app.text_input(key=f"template_{reminder}_ja_subject").input("リマインダー")
        app.text_area(key=f"template_{reminder}_ja_body").input(JAPANESE_BODY).run()
        app.button(key=f"template_{reminder}_ja_save").click().run()
        assert template_named(world.engine, "Reminder").languages == ["en", "ja"]
        app.button(key=f"template_{reminder}_ja_drop").click().run()
        assert literal(app.success[0].value) == "'Reminder' の日本語版を削除しました。"
        assert template_named(world.engine, "Reminder").languages == ["en"]


def test_a_test_from_the_japanese_screen_is_marked_in_japanese(
    world: World, open_screen: Callable[..., AppTest]
) -> None:
    with speaking("ja"):  # the test's side formats the choices too
        app = open_screen(SCREEN, **JA)
        app.text_input(key="templates_test_address").input("me@example.com")
        next(button for button in app.button if button.label == "テストを送信").click().run()
        assert literal(app.success[0].value) == (
            "SMTP_URL が設定されていないため、テストメールは送信トレイに保管されました。"
        )
        [message] = list_messages(world.engine)
        assert message.subject == "[テスト] Acme のアカウントのご案内"


def _execute_dialog(app: AppTest) -> AppTest:
    _upload(app, CLEAN)
    app.button(key="execute").click().run()
    return app.checkbox(key="invite").check().run()


def _sent_subject(world: World) -> str:
    with session(world.engine) as db:
        [options] = db.scalars(select(Batch.options)).all()
    return str(options["subject"])


def test_the_execute_dialog_sends_the_operators_language_by_default(
    world: World, open_screen: Callable[..., AppTest]
) -> None:
    invitation = default_template(world.engine)
    # The test's side formats the widgets' choices too: in the screen's language.
    with speaking("ja"):
        app = _execute_dialog(open_screen(BATCH, **JA))
        assert not app.exception
        assert app.radio(key=keys.invitation_language(invitation.id)).value == "ja"
        assert "**Acme のアカウントのご案内**" in [literal(m.value) for m in app.markdown]
        app.button(key="execute_confirm").click().run()
    assert _sent_subject(world) == "{{ site_name }} のアカウントのご案内"


def test_the_execute_dialog_sends_the_version_chosen(
    world: World, open_screen: Callable[..., AppTest]
) -> None:
    invitation = default_template(world.engine)
    app = _execute_dialog(open_screen(BATCH))
    picker = app.radio(key=keys.invitation_language(invitation.id))
    assert picker.value == "en" and picker.options == ["English", "日本語"]
    assert "**Welcome to Acme**" in [literal(m.value) for m in app.markdown]
    picker.set_value("ja").run()
    assert "**Acme のアカウントのご案内**" in [literal(m.value) for m in app.markdown]
    # Edited and saved as the template: the Japanese version changes, the English one not.
    app.toggle(key="edit_template").set_value(True).run()
    app.text_input(key=f"subject-{invitation.id}-ja").input("ようこそ {{ site_name }} へ").run()
    app.checkbox(key="save_template").check().run()
    assert not app.exception and not app.error
    saved = default_template(world.engine)
    assert saved.version("ja").subject == "ようこそ {{ site_name }} へ"
    assert saved.version("en") == invitation.version("en")
    app.button(key="execute_confirm").click().run()
    assert _sent_subject(world) == "ようこそ {{ site_name }} へ"
