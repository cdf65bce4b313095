"""Japanese on the operators, outbox and background screens, the accept page, their domain's
refusals, the results download's messages, and dates and numbers as each language writes them."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Callable, Iterator

import pytest
import streamlit as st
from sqlalchemy import select, update
from streamlit.testing.v1 import AppTest

from tests.batches.test_apply import NEW_ROWS, _store
from tests.check.test_check import H
from tests.conftest import ROOT, RunBatch, World
from tests.helpers import literal
from tests.views import conftest as views
from userbatch.admin.operators import add_operator, set_disabled
from userbatch.batches import lifecycle
from userbatch.batches.history import results_file, row_outcomes
from userbatch.db import session
from userbatch.directory import auth, sessions
from userbatch.errors import UserbatchError
from userbatch.i18n import Text, speaking
from userbatch.i18n.formats import moment, number, table_time
from userbatch.i18n.recall import kept, recalled
from userbatch.mail.outbox import INTERRUPTED, send_due
from userbatch.models import Batch, BatchRow, BatchState
from userbatch.settings import Settings
from userbatch.ui import keys
from userbatch.ui import language as screen_language
from userbatch.worker.submit import cancel_batch, retry_batch

open_screen = views.open_screen  # the fixture, here too
JA = {keys.LANGUAGE: "ja"}
OPERATORS, OUTBOX, JOBS = (
    f"lib/userbatch/ui/{name}.py" for name in ("operators", "outbox", "jobs")
)
PASSWORD = "correct-horse-7"


@pytest.fixture
def reading_japanese() -> Iterator[None]:
    """The test's side reads Japanese too: AppTest formats a widget's choices (the sidebar's
    working group) where the test runs."""
    with speaking("ja"):
        yield


def _shown(app: AppTest) -> str:
    """Every text the run drew, as one string (to look for words in)."""
    parts = [e.value for kind in ("title", "caption", "info", "success", "error", "markdown")
             for e in getattr(app, kind)]  # fmt: skip
    return literal("\n".join(str(part) for part in parts))


def _headers(app: AppTest, index: int) -> dict[str, str]:
    """The headers a table shows, by its column keys."""
    config = json.loads(app.dataframe[index].proto.columns)
    return {key: value.get("label", key) for key, value in config.items()}


# --- Operators -------------------------------------------------------------------------------


def test_the_operators_screen_speaks_japanese(
    world: World, open_screen: Callable[..., AppTest], reading_japanese: None
) -> None:
    world.manager("tokyo-lead", "Sales>>Tokyo")
    app = open_screen(OPERATORS, **JA)
    assert not app.exception
    assert app.title[0].value == "オペレーター"
    frame = app.dataframe[0].value
    assert frame["Role"].tolist() == ["管理者", "マネージャー"]
    assert frame["Manages"].tolist() == ["組織全体", "Sales>>Tokyo"]
    assert frame["Status"].tolist() == ["有効", "有効"]
    headers = _headers(app, 0)
    assert (headers["Login"], headers["Last sign-in"], headers["Created"]) == (
        "ログインID", "最終サインイン", "作成日時",
    )  # fmt: skip
    assert [tab.label for tab in app.tabs] == [
        "追加", "ロールと担当の変更", "パスワードのリセット", "無効化・有効化",
    ]  # fmt: skip
    assert "日時は UTC（ブラウザーのタイムゾーン）で表示しています。" in _shown(app)
    assert "Operators" not in _shown(app) and "Times are in" not in _shown(app)
    app.text_input(key="add_login").input("support-lead")
    app.selectbox(key="add_role").select("manager")
    app.selectbox(key="add_scope").select("Support")
    app.text_input(key="add_password").input(PASSWORD)
    app.text_input(key="add_confirm").input(PASSWORD)
    app.button(key="add_submit").click().run()
    assert [literal(s.value) for s in app.success] == [
        "マネージャー 'support-lead' を追加しました。"
    ]
    app.selectbox(key="disable_operator").select(world.admin.id)
    app.button(key="disable").click().run()
    assert [literal(e.value) for e in app.error] == [
        "'admin' は最後の有効な管理者のため、無効にできません。"
        "先に別のオペレーターを管理者にしてください。"
    ]


def test_the_time_columns_write_dates_as_the_language_does(
    open_screen: Callable[..., AppTest],
) -> None:
    english = json.loads(open_screen(OPERATORS).dataframe[0].proto.columns)
    with speaking("ja"):
        japanese = json.loads(open_screen(OPERATORS, **JA).dataframe[0].proto.columns)
    assert english["Created"]["type_config"]["format"] == "YYYY-MM-DD HH:mm"
    assert japanese["Created"]["type_config"]["format"] == "YYYY/MM/DD HH:mm"


def test_the_operators_refusals_speak_the_readers_language(world: World) -> None:
    with pytest.raises(UserbatchError) as taken:
        add_operator(
            world.engine, world.admin, login="ADMIN", password=PASSWORD, role="admin",
            min_password_length=8,
        )  # fmt: skip
    with pytest.raises(UserbatchError) as not_admin:
        set_disabled(world.engine, world.manager("lead", "Sales"), operator_id=1, disabled=True)
    with pytest.raises(UserbatchError) as wrong:
        auth.sign_in(world.engine, "nobody", "nothing")
    with speaking("ja"):
        assert str(taken.value) == (
            "ログインID 'ADMIN' は、オペレーター 'admin' と大文字・小文字しか違いません。"
        )
        assert str(not_admin.value) == "オペレーターを管理できるのは管理者だけです。"
        assert str(wrong.value) == "ログインIDまたはパスワードが違います。"
    assert str(wrong.value) == "Wrong login or password."


def test_a_session_that_ended_says_so_in_japanese(world: World) -> None:
    with pytest.raises(UserbatchError) as ended:
        sessions.resume(world.engine, world.settings, session_id=404)
    with speaking("ja"):
        assert str(ended.value) == (
            "サインアウトされました（別のタブかウィンドウで、または管理者によって）。"
        )
        assert sessions.ended(ended.value)  # whatever language it is read in
    assert str(ended.value) == sessions.ENDED


# --- Background processing and the results download ------------------------------------------


def test_the_history_and_a_batchs_detail_speak_japanese(
    world: World, open_screen: Callable[..., AppTest], run_batch: RunBatch, reading_japanese: None
) -> None:
    finished = _store(world, NEW_ROWS, invite=True)
    run_batch(world, finished)
    app = open_screen(JOBS, **JA, jobs_selected=finished)
    assert not app.exception
    assert app.title[0].value == "バックグラウンド処理"
    history = app.dataframe[0].value
    assert history["State"].tolist() == ["完了"]
    assert history["Invitations"].tolist() == ["予約済み 2 件"]
    assert _headers(app, 0)["Created"] == "登録" and _headers(app, 0)["Finished"] == "終了日時"
    assert [m.label for m in app.metric] == ["登録", "更新", "変更なし", "失敗"]
    rows = app.dataframe[1].value
    assert rows["Result"].tolist() == ["登録"] * 4
    assert rows["Checked as"].tolist() == ["新規"] * 4
    assert app.selectbox(key="jobs_outcome").options[:2] == ["すべて", "登録"]
    assert app.dataframe[2].value["State"].tolist() == ["予約済み", "予約済み"]
    assert "Background processing" not in _shown(app)


def test_a_failed_batchs_error_is_shown_in_the_readers_language(
    world: World, open_screen: Callable[..., AppTest], reading_japanese: None
) -> None:
    batch_id = _store(world, H + "kimura01,Kimura,,,,,,,\n")
    with session(world.engine) as db, db.begin():
        db.execute(update(Batch).where(Batch.id == batch_id).values(state=BatchState.STARTED))
    assert lifecycle.finish(world.engine, batch_id) is BatchState.FAILED  # its row is pending
    with session(world.engine) as db:
        stored = db.scalars(select(Batch.error).where(Batch.id == batch_id)).one()
    assert stored == (
        "1 row(s) were not applied because a part of the batch failed; Retry applies them."
    )
    app = open_screen(JOBS, **JA, jobs_selected=batch_id)
    assert [literal(e.value) for e in app.error] == [
        "バッチの一部が失敗したため、1 行が反映されていません。「再実行」で反映されます。"
    ]
    assert "失敗 · 0/1 行" in [p.proto.text for p in app.get("progress")]


def test_the_results_download_writes_each_rows_message_in_the_readers_language(
    world: World, run_batch: RunBatch
) -> None:
    batch_id = _store(world, NEW_ROWS)
    run_batch(world, batch_id)
    message = kept(Text("The group '{path}' does not exist.", path="Sales>>Osaka"))
    with session(world.engine) as db, db.begin():
        db.execute(
            update(BatchRow)
            .where(BatchRow.batch_id == batch_id, BatchRow.key == "yamada01")
            .values(outcome="failed", message=message)
        )

    def messages() -> dict[str, tuple[str, str]]:
        table = csv.DictReader(
            io.StringIO(results_file(world.engine, batch_id).decode("utf-8-sig"))
        )
        return {row["Login ID"]: (row["Result"], row["Message"]) for row in table}

    assert messages()["yamada01"] == ("failed", "The group 'Sales>>Osaka' does not exist.")
    with speaking("ja"):
        japanese = messages()
        shown = {row.key: row.message for row in row_outcomes(world.engine, batch_id)}
    assert japanese["yamada01"] == ("failed", "グループ 'Sales>>Osaka' は存在しません。")
    assert japanese["tanaka01"] == ("created", "")  # the results stay values
    assert shown["yamada01"] == "グループ 'Sales>>Osaka' は存在しません。"


def test_the_download_is_made_in_the_language_of_the_page_that_offered_it(
    world: World, run_batch: RunBatch
) -> None:
    from userbatch.ui import jobs
    from userbatch.ui.context import AppContext

    batch_id = _store(world, NEW_ROWS)
    run_batch(world, batch_id)
    with session(world.engine) as db, db.begin():
        db.execute(
            update(BatchRow).where(BatchRow.batch_id == batch_id).values(message=INTERRUPTED)
        )
    app = AppContext(world.settings, world.engine)
    # Streamlit makes it later, in a thread of its own, where nobody set a language.
    data = jobs._results(app, batch_id, "ja").decode("utf-8-sig")
    assert "届いたかどうかわかりません" in data and "resend it" not in data


def test_the_batch_refusals_name_the_state_in_japanese(world: World, run_batch: RunBatch) -> None:
    batch_id = _store(world, NEW_ROWS)
    run_batch(world, batch_id)
    with pytest.raises(UserbatchError) as canceled:
        cancel_batch(world.engine, world.settings, world.admin, batch_id)
    with pytest.raises(UserbatchError) as retried:
        retry_batch(world.engine, world.settings, world.admin, batch_id)
    with speaking("ja"):
        assert str(canceled.value) == (
            "キャンセルできるのは実行前のバッチだけです。このバッチは「完了」です。"
        )
        assert (
            str(retried.value)
            == "再実行できるのは失敗したバッチだけです。このバッチは「完了」です。"
        )
    assert str(canceled.value) == "Only a waiting batch can be canceled; this one is finished."


def test_kept_words_are_recalled_in_the_readers_language() -> None:
    nested = kept(Text("Organisation name: {why}", why=Text("The login must not be empty.")))
    assert nested == "Organisation name: The login must not be empty."
    with speaking("ja"):
        assert recalled(nested) == "組織名: ログインIDを入力してください。"
        assert recalled(INTERRUPTED).startswith("このメッセージの送信中にワーカーが停止したため")
        assert recalled("SMTPRecipientsRefused: {'x@example.com': (550, b'No')}") == (
            "SMTPRecipientsRefused: {'x@example.com': (550, b'No')}"
        )  # words the catalogue does not know stay
        assert recalled("Wrong login or password. The login must not be empty.") == (
            "ログインIDまたはパスワードが違います。ログインIDを入力してください。"
        )
    assert recalled(INTERRUPTED) == INTERRUPTED


# --- The outbox ------------------------------------------------------------------------------


def test_the_outbox_speaks_japanese(
    world: World, open_screen: Callable[..., AppTest], run_batch: RunBatch, reading_japanese: None
) -> None:
    run_batch(world, _store(world, NEW_ROWS, invite=True))
    app = open_screen(OUTBOX, **JA, outbox_table={"selection": {"rows": [0], "columns": []}})
    assert app.title[0].value == "送信トレイ"
    assert "SMTP_URL が設定されていないため" in _shown(app)
    assert app.dataframe[0].value["State"].tolist() == ["予約済み", "予約済み"]
    assert _headers(app, 0)["Recipient"] == "宛先"
    assert "**宛先:**" in " ".join(m.value for m in app.markdown)
    when = [c.value for c in app.caption if c.value.startswith("送信予定日時: ")]
    assert len(when) == 1 and re.fullmatch(
        r"送信予定日時: \d{4}/\d{2}/\d{2} \d{1,2}:\d{2}", when[0]
    )
    app.button(key="cancel_message").click().run()
    assert [literal(s.value) for s in app.success] == [
        "送信予定のメッセージ 1 件をキャンセルしました。"
    ]
    assert app.dataframe[0].value["State"].tolist() == ["キャンセル済み", "予約済み"]
    assert app.dataframe[0].value["Last error"].tolist()[0] == "'admin' がキャンセルしました。"
    send_due(world.engine, world.settings, now=dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
    assert open_screen(OUTBOX, **JA).dataframe[0].value["State"].tolist() == [
        "キャンセル済み", "保管",
    ]  # fmt: skip


# --- The accept page: the browser's language -------------------------------------------------


@pytest.fixture
def browser_locale(monkeypatch: pytest.MonkeyPatch) -> Callable[[str | None], None]:
    """``browser_locale("ja-JP")``: the language the browser reports (AppTest has none)."""

    def report(locale: str | None) -> None:
        monkeypatch.setattr(type(st.context), "locale", property(lambda _self: locale))

    return report


@pytest.mark.parametrize(
    "locale, language", [("ja-JP", "ja"), ("ja", "ja"), ("en-US", "en"), ("fr-FR", "en"),
                         (None, "en")],
)  # fmt: skip
def test_the_accept_page_follows_the_browsers_language(
    browser_locale: Callable[[str | None], None], locale: str | None, language: str
) -> None:
    browser_locale(locale)
    assert screen_language.browser() == language


def test_the_accept_page_speaks_japanese_to_a_japanese_browser(
    world: World, use_env: Callable[[Settings], None],
    browser_locale: Callable[[str | None], None],
) -> None:  # fmt: skip
    use_env(world.settings)
    browser_locale("ja-JP")
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    app.switch_page("lib/userbatch/ui/accept.py").run()
    assert not app.exception
    assert app.title[0].value == "パスワードの設定"
    assert [literal(i.value) for i in app.info] == [
        "招待メールのリンクからこのページを開いてください。"
    ]


def test_the_accept_page_speaks_the_browsers_language_not_a_signed_in_operators(
    open_screen: Callable[..., AppTest], browser_locale: Callable[[str | None], None]
) -> None:
    browser_locale("ja-JP")
    app = open_screen("lib/userbatch/ui/accept.py", **{keys.LANGUAGE: "en"})
    assert app.title[0].value == "パスワードの設定"


# --- Dates, times and numbers ----------------------------------------------------------------

MORNING_UTC = dt.datetime(2026, 12, 3, 6, 4)  # naive: UTC, as the database keeps it


@pytest.mark.parametrize(
    "language, zone, written",
    [
        ("ja", "Asia/Tokyo", "2026/12/03 15:04"),
        ("en", "Asia/Tokyo", "Dec 3, 2026, 3:04\u202fPM"),
        ("ja", "UTC", "2026/12/03 6:04"),
        ("en", "UTC", "Dec 3, 2026, 6:04\u202fAM"),
    ],
)
def test_a_moment_is_written_as_the_language_writes_it(
    language: str, zone: str, written: str
) -> None:
    with speaking(language):
        assert moment(MORNING_UTC, zone) == written
        assert moment(MORNING_UTC.replace(tzinfo=dt.UTC), zone) == written


@pytest.mark.parametrize(
    "language, table", [("ja", "YYYY/MM/DD HH:mm"), ("en", "YYYY-MM-DD HH:mm")]
)
def test_numbers_and_table_times_by_language(language: str, table: str) -> None:
    with speaking(language):
        assert number(1234567) == "1,234,567"
        assert number(0) == "0"
        assert table_time() == table
