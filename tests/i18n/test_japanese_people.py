"""Japanese on the Manage users, Groups and Input field settings screens, the demo data offer
and a batch's undo; and the refusals of their domain (groups, scope, field settings, Edit
user, demo data, undo), made in the reader's language when shown."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from redis import Redis
from streamlit.testing.v1 import AppTest

from tests.batches.test_apply import _store
from tests.check.test_check import H
from tests.conftest import RunBatch, World
from tests.helpers import literal
from tests.views import conftest as views
from userbatch.admin import demo, field_settings
from userbatch.admin.field_settings import CustomField, FieldChoice, list_fields
from userbatch.admin.users import change_login_id, search_users
from userbatch.batches.history import get_batch
from userbatch.batches.undo import why_not_undoable
from userbatch.db import session
from userbatch.directory import groups
from userbatch.directory.scope import user_in_scope
from userbatch.errors import UserbatchError
from userbatch.i18n import speaking
from userbatch.i18n.recall import recalled
from userbatch.ui import keys

# The screens' fixture, where pytest looks for it.
open_screen = views.open_screen
JA = {keys.LANGUAGE: "ja"}
USERS, GROUPS, FIELDS, JOBS = (
    f"lib/userbatch/ui/{name}.py" for name in ("users", "groups", "input_fields", "jobs")
)


def _shown(app: AppTest) -> str:
    """Every text the run drew, as one string (to look for words in)."""
    parts = [e.value for kind in ("title", "subheader", "caption", "info", "success", "error",
                                  "markdown", "warning") for e in getattr(app, kind)]  # fmt: skip
    return literal("\n".join(str(part) for part in parts))


def _headers(app: AppTest, index: int) -> dict[str, str]:
    """The headers a table shows, by its column keys."""
    config = json.loads(app.dataframe[index].proto.columns)
    return {key: value.get("label", key) for key, value in config.items()}


# --- Manage users and the demo data offer ----------------------------------------------------


def test_manage_users_speaks_japanese(people: World, open_screen: Callable[..., AppTest]) -> None:
    with speaking("ja"):  # the test's side formats the choices too
        app = open_screen(USERS, **JA)
        assert not app.exception
        assert app.title[0].value == "ユーザー管理"
        table = app.dataframe[0].value
        assert list(table.columns) == [
            "ログインID",
            "氏名",
            "メールアドレス",
            "ステータス",
            "所属グループ",
        ]
        assert table["ステータス"].tolist() == ["有効", "有効"]
        assert "2 人" in _shown(app)
        assert [b.label for b in app.download_button] == ["ユーザーのダウンロード"]
        assert app.selectbox(key="users_status").options == [
            "すべてのステータス", "有効", "無効", "一時停止",
        ]  # fmt: skip
        assert "Manage users" not in _shown(app) and "user(s)" not in _shown(app)


def test_a_user_opens_and_its_login_id_changes_in_japanese(
    people: World, open_screen: Callable[..., AppTest]
) -> None:
    with speaking("ja"):  # the test's side formats the choices too
        kato = search_users(people.engine, scope_path="", text="kato")[0][0]
        app = open_screen(USERS, **JA)
        app.selectbox(key="open_user").select(kato.id).run()
        detail = dict(app.dataframe[1].value.itertuples(index=False))
        assert (detail["ログインID"], detail["氏名"], detail["所属グループ"]) == (
            "kato0003", "Kato", "Support",
        )  # fmt: skip
        assert "初回ログイン" in detail and "作成日時" in detail
        assert list(app.dataframe[1].value.columns) == ["項目", "値"]
        assert "**ユーザーの編集**" in [m.value for m in app.markdown]
        button = "FormSubmitter:edit_user-ログインIDを変更"
        app.text_input(key=f"edit_login_id_{kato.id}").input("sato0002")
        app = app.button(key=button).click().run()
        assert literal(app.error[0].value) == "ログインID 'sato0002' は別のユーザーが使っています。"
        app.text_input(key=f"edit_login_id_{kato.id}").input("kato2024")
        app = app.button(key=button).click().run()
        assert literal(app.success[0].value) == "ログインIDを 'kato2024' に変更しました。"


def test_the_demo_data_offer_speaks_japanese(
    world: World, open_screen: Callable[..., AppTest]
) -> None:
    with speaking("ja"):  # the test's side formats the choices too
        app = open_screen(USERS, **JA)
        offer = app.markdown[0].value
        assert (
            offer.startswith("**ユーザーはまだいません。**") and "There are no users" not in offer
        )
        assert "グループ 4 個" in offer and "ユーザー 50 人" in offer
        assert [b.label for b in app.button if b.key == "load_demo"] == ["デモデータを読み込む"]
        app = app.button(key="load_demo").click().run()
        assert literal(app.success[0].value) == (
            "デモユーザーを 50 人読み込みました。「ユーザー管理」でダウンロードするか、"
            "更新を試してみてください。"
        )


# --- Groups ----------------------------------------------------------------------------------


def test_the_groups_screen_speaks_japanese(
    world: World, open_screen: Callable[..., AppTest]
) -> None:
    with speaking("ja"):  # the test's side formats the choices too
        world.add_user("tanaka01", groups=("Support",))
        app = open_screen(GROUPS, **JA)
        assert not app.exception
        assert app.title[0].value == "グループ"
        assert list(app.dataframe[0].value.columns) == [
            "グループ",
            "パス",
            "ユーザー",
            "サブグループ",
        ]
        assert [tab.label for tab in app.tabs] == ["作成", "名前を変更", "移動", "削除"]
        assert app.selectbox(key="create_parent").options[0] == "Acme（組織全体）"
        app.selectbox(key="create_parent").select(world.groups["Sales"].id)
        app.text_input(key="create_name").input("Osaka")
        app = app.button[0].click().run()
        assert literal(app.success[0].value) == "Sales>>Osaka を作成しました。"
        app.selectbox(key="delete_group").select(world.groups["Support"].id)
        app = app.button[3].click().run()
        assert (
            literal(app.error[0].value)
            == "'Support' は削除できません（ユーザー 1 人が所属している）。"
        )


# --- Input field settings --------------------------------------------------------------------


def test_the_input_field_settings_speak_japanese(
    world: World, open_screen: Callable[..., AppTest]
) -> None:
    with speaking("ja"):  # the test's side formats the choices too
        app = open_screen(FIELDS, **JA)
        assert not app.exception
        assert app.title[0].value == "入力項目の設定"
        grid = app.data_editor[0].value
        assert list(grid.columns) == [
            "順序",
            "項目",
            "日本語の見出し",
            "種類",
            "選択肢",
            "使用",
            "必須",
        ]
        assert grid["種類"].tolist()[0] == "標準"
        assert [tab.label for tab in app.tabs] == ["追加", "編集", "削除"]
        assert "カスタム項目はまだありません。" in _shown(app)
        assert "Custom fields" not in _shown(app)
        # The grid's edits come keyed by the columns it shows: the Japanese ones.
        app.session_state[keys.FIELD_CHOICES] = {
            "edited_rows": {5: {"使用": False}}, "added_rows": [], "deleted_rows": [],
        }  # fmt: skip
        app = app.button(key="FormSubmitter:field_settings-設定を保存").click().run()
        assert literal(app.success[0].value) == "入力項目の設定を保存しました。"
        assert not {f.key: f for f in list_fields(world.engine)}["department"].in_use


def test_a_custom_field_refused_and_added_in_japanese(
    world: World, open_screen: Callable[..., AppTest]
) -> None:
    with speaking("ja"):  # the test's side formats the choices too
        app = open_screen(FIELDS, **JA)
        assert app.selectbox(key="add_type").options == [
            "テキスト", "テキストエリア", "ラジオボタン", "プルダウン", "チェックボックス",
        ]  # fmt: skip
        app.text_input(key="add_key").input("course")
        app.text_input(key="add_label").input("Course")
        app.selectbox(key="add_type").select("pulldown")
        app = app.button(key="FormSubmitter:add_field-項目を追加").click().run()
        assert (
            literal(app.error[0].value) == "種類がプルダウンの項目には、選択肢が1つ以上必要です。"
        )
        # The form is cleared on each submit.
        app.text_input(key="add_key").input("course")
        app.text_input(key="add_label").input("Course")
        app.selectbox(key="add_type").select("pulldown")
        app.text_area(key="add_options").input("Math\nArt")
        app = app.button(key="FormSubmitter:add_field-項目を追加").click().run()
        assert literal(app.success[0].value) == "Course を追加しました。"


def test_a_manager_reads_the_settings_in_japanese(
    world: World, open_screen: Callable[..., AppTest]
) -> None:
    with speaking("ja"):  # the test's side formats the choices too
        app = open_screen(FIELDS, operator=world.manager("mgr", "Sales"), **JA)
        assert literal(app.info[0].value) == "入力項目の設定を変更できるのは管理者だけです。"
        assert app.dataframe[0].value["項目"].tolist()[0] == "Login ID"


# --- Undo ------------------------------------------------------------------------------------


def test_an_undo_is_previewed_and_run_in_japanese(
    world: World, open_screen: Callable[..., AppTest], clean_redis: Redis, run_batch: RunBatch
) -> None:
    with speaking("ja"):  # the test's side formats the choices too
        world.add_user("sato0002", name="Sato", department="Sales", groups=("Sales",))
        batch_id = _store(world, H + "tanaka01,Tanaka,,,,,,,\nsato0002,Sato,,,,Support,,,\n")
        run_batch(world, batch_id)
        app = open_screen(JOBS, world.admin, jobs_selected=batch_id, **JA)
        assert app.button(key="undo_open").label == "取り消し…"
        app = app.button(key="undo_open").click().run()
        assert not app.exception
        assert "**users.csv の取り消し: 行われる内容**" in [literal(m.value) for m in app.markdown]
        assert [m.label for m in app.metric][-5:] == [
            "削除", "一時停止", "復元", "保持", "キャンセルする招待メール",
        ]  # fmt: skip
        headers = _headers(app, 1)
        assert (headers["Undo"], headers["Before"], headers["Batch"], headers["Now"]) == (
            "取り消し", "バッチ前の値", "バッチの値", "現在の値",
        )  # fmt: skip
        assert app.dataframe[1].value["Undo"].tolist() == ["delete", "restore"]  # the values kept
        execute = app.button(key="undo_execute")
        assert execute.label == "取り消し: 2 人を変更"
        app = execute.click().run()
        assert not app.exception
        assert "このバッチは 'users.csv' の取り消しです。" in [literal(i.value) for i in app.info]
        assert app.button(key="undo_open").help == (
            "取り消しそのものは取り消せません。代わりにファイルをもう一度アップロードしてください。"
        )


def test_why_a_batch_cannot_be_undone_is_said_in_the_readers_language(world: World) -> None:
    world.add_user("sato0002", name="Sato", department="Sales", groups=("Sales",))
    batch = get_batch(world.engine, _store(world, H + "sato0002,Sato,,,,Sales,,,Sales\n"))
    reason = why_not_undoable(world.engine, batch)
    assert reason is not None
    with speaking("ja"):
        assert (
            str(reason)
            == "取り消せるのは終了したバッチだけです。このバッチの状態は「保存済み」です。"
        )
    assert str(reason) == "Only a batch that has ended can be undone; this one is stored."


@pytest.mark.parametrize(
    ("english", "japanese"),
    [
        (
            "Canceled: the batch was undone by yamada.",
            "キャンセル済み: yamada がバッチを取り消しました。",
        ),
        ("Nothing to undo.", "取り消すものはありません。"),
    ],
)
def test_what_an_undo_keeps_in_english_reads_in_japanese(english: str, japanese: str) -> None:
    with speaking("ja"):
        assert recalled(english) == japanese


# --- The domain's refusals -------------------------------------------------------------------


def _choices(world: World, **changes: tuple[bool, bool]) -> list[FieldChoice]:
    return [
        FieldChoice(f.key, *changes.get(f.key, (f.in_use, f.required)))
        for f in list_fields(world.engine)
    ]


REFUSALS: list[tuple[Callable[[World], object], str, str]] = [
    (
        lambda w: groups.validate_group_name("  "),
        "A group name must not be empty.",
        "グループ名を入力してください。",
    ),
    (
        lambda w: groups.validate_group_name("A>>B"),
        "A group name must not contain '>>'; 'A>>B' does ('>>' separates a group from its "
        "subgroup in a path).",
        "グループ名に '>>' は使えません。'A>>B' には含まれています（'>>' はパスでグループと"
        "サブグループを区切ります）。",
    ),
    (
        lambda w: groups.validate_group_name("x" * 31),
        f"A group name has at most 30 characters; '{'x' * 31}' has 31.",
        f"グループ名は 30 文字以内です。'{'x' * 31}' は 31 文字あります。",
    ),
    (
        lambda w: groups.add_group(w.engine, "Support"),
        "The group 'Support' exists already; nothing was created.",
        "グループ 'Support' はすでに存在します。何も作成していません。",
    ),
    (
        lambda w: groups.add_group(w.engine, "Marketing", scope_path="Sales"),
        "The group 'Marketing' is outside your groups ('Sales' and below).",
        "グループ 'Marketing' はあなたの担当グループ（'Sales' とその下）の外にあります。",
    ),
    (
        lambda w: groups.move_group(
            w.engine, w.groups["Sales"].id, w.groups["Sales>>Tokyo"].id, scope_path=""
        ),
        "A group cannot move into itself or one of its subgroups.",
        "グループを、そのグループ自身やそのサブグループの下には移動できません。",
    ),
    (
        lambda w: groups.delete_group(w.engine, w.groups["Sales"].id, scope_path=""),
        "'Sales' cannot be deleted: it has subgroups.",
        "'Sales' は削除できません（サブグループがある）。",
    ),
    (
        lambda w: groups.rename_group(w.engine, w.groups["Support"].id, "Sales", scope_path=""),
        "The parent group has a subgroup named 'Sales' already.",
        "親グループには、'Sales' という名前のサブグループがすでにあります。",
    ),
    (
        lambda w: demo.load_demo(w.engine, w.manager("mgr", "Sales")),
        "Only administrators can load demo data.",
        "デモデータを読み込むことができるのは管理者だけです。",
    ),
    (
        lambda w: field_settings.save_choices(
            w.engine, w.admin, _choices(w, name=(True, False), password=(True, True))
        ),
        "Name is always in use and required: every user has a name. Password cannot be "
        "required: a blank password keeps the password.",
        "氏名は常に使用し、必須です。すべてのユーザーに氏名があります。パスワードは必須にできま"
        "せん。空欄のパスワードは、パスワードを変えないことを意味します。",
    ),
    (
        lambda w: field_settings.save_choices(
            w.engine, w.admin, _choices(w, login_id=(False, False))
        ),
        "Login ID cannot be switched off or removed: the e-mail template(s) 'Invitation' use "
        "{{ login_id }}.",
        "ログインIDは、使用しない設定にも削除にもできません。メールテンプレート 'Invitation' "
        "が {{ login_id }} を使っています。",
    ),
    (
        lambda w: field_settings.add_custom_field(
            w.engine, w.admin, CustomField("Course", "ログインID", "text")
        ),
        "The key 'Course' must start with a lower-case letter and have at most 40 lower-case "
        "letters, digits or _ (templates read it as {{ custom.<key> }}). The label "
        "'ログインID' is taken by the column Login ID; choose another.",
        "キー 'Course' は英小文字で始め、英小文字、数字、_ の40文字以内にしてください（テンプレー"
        "トでは {{ custom.<key> }} として読み込みます）。見出し 'ログインID' は列 Login ID が使っ"
        "ています。別の見出しを選んでください。",
    ),
    (
        lambda w: field_settings.remove_custom_field(w.engine, w.admin, "name"),
        "There is no custom field with the key 'name'.",
        "キー 'name' のカスタム項目はありません。",
    ),
]


@pytest.mark.parametrize(("action", "english", "japanese"), REFUSALS)
def test_refusals_are_made_in_the_readers_language(
    world: World, action: Callable[[World], object], english: str, japanese: str
) -> None:
    with pytest.raises(UserbatchError) as refused:
        action(world)
    assert str(refused.value) == english
    with speaking("ja"):
        assert str(refused.value) == japanese


def test_edit_user_and_the_scope_refuse_in_japanese(people: World) -> None:
    kato = search_users(people.engine, scope_path="", text="kato")[0][0]
    with pytest.raises(UserbatchError) as taken:
        change_login_id(people.engine, kato.id, "sato0002", scope_path="")
    with pytest.raises(UserbatchError) as outside, session(people.engine) as db:
        user_in_scope(db, kato.id, scope_path="Sales")
    with speaking("ja"):
        assert str(taken.value) == "ログインID 'sato0002' は別のユーザーが使っています。"
        assert str(outside.value) == "そのユーザーはあなたの担当グループの外にいます。"
