"""The command line speaks Japanese with ``--lang ja`` or a Japanese locale: what it prints,
its refusals and configuration errors, and its help; ``--json`` keeps its values."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.test_cli import GOOD, cli  # noqa: F401  (the fixture)
from userbatch.cli.jobs import _print_preview
from userbatch.cli.main import main
from userbatch.cli.serve import _served
from userbatch.crypto.vault import seal, unseal
from userbatch.errors import ConfigError
from userbatch.i18n import speaking
from userbatch.settings import Settings
from userbatch.worker.connection import redis_connection

JAPANESE_WORDS = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Run:
    """The command line in this process, with the environment as the test set it."""

    def command(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return command


@pytest.fixture
def in_sqlite(
    make_settings: Callable[..., Settings], use_env: Callable[[Settings], None]
) -> Settings:
    """A new SQLite installation, the one the commands open."""
    settings = make_settings("sqlite")
    use_env(settings)
    return settings


def test_jobs_list_show_and_the_import_summary_in_japanese(
    cli: Run,  # noqa: F811
    tmp_path: Path,
    clean_redis: object,
) -> None:
    upload = tmp_path / "users.csv"
    upload.write_text(GOOD, encoding="utf-8")
    code, out, _err = cli("--lang", "ja", "import", str(upload))  # queued; no worker runs
    assert code == 0
    lines = out.splitlines()
    assert lines[:2] == [
        "users.csv: 2 行（UTF-8、カンマ区切り）",
        "新規 2 · 更新 0 · 変更なし 0 · エラー 0",
    ]
    summary = re.fullmatch(r"バッチ (\S+): 実行待ち。登録 0、更新 0、変更なし 0、失敗 0", lines[-1])
    assert summary, lines[-1]
    batch_id = summary[1]

    code, out, _err = cli("--lang", "ja", "jobs", "list")
    assert code == 0 and out.split() == [batch_id, "実行待ち", "0/2"]
    code, out, _err = cli("--lang", "ja", "jobs", "show", batch_id)
    assert out.splitlines() == [
        f"{batch_id}: 実行待ち、0/2 行",
        "登録 0、更新 0、変更なし 0、失敗 0",
    ]
    code, out, _err = cli("--lang", "ja", "jobs", "cancel", batch_id)
    assert code == 0 and out.splitlines()[0] == f"{batch_id}: キャンセル済み、0/2 行"

    # The document stays as it is: keys and states are values, not words.
    code, out, _err = cli("--lang", "ja", "jobs", "show", batch_id, "--json")
    document = json.loads(out)
    assert document["state"] == "canceled" and set(document["counts"]) >= {"created", "failed"}
    code, out, _err = cli("jobs", "show", batch_id)  # English, by default
    assert out.splitlines() == [
        f"{batch_id}: canceled, 0/2 rows", "created 0, updated 0, unchanged 0, failed 0"
    ]  # fmt: skip


def test_an_undo_preview_in_japanese(capsys: pytest.CaptureFixture[str]) -> None:
    document = {
        "file_name": "users.csv",
        "counts": {"delete": 2, "suspend": 1, "restore": 0, "keep": 1, "invitations_canceled": 3},
        "rows": [
            {"row": 2, "key": "tanaka01", "action": "suspend", "message": "M"},
            {"row": 3, "key": "sato0002", "action": "keep", "message": "M", "fields": [
                {"field": "氏名", "before": "A", "batch": "B", "now": "C", "undo": "keep"},
            ]},
        ],
    }  # fmt: skip
    with speaking("ja"):
        _print_preview(document, as_json=False)
    assert capsys.readouterr().out.splitlines() == [
        "users.csv の取り消し: 削除 2、一時停止 1、復元 0、保持 1。未送信の招待メール 3 件をキャンセルします。",
        "  2 行目 tanaka01: 一時停止。M",
        "  3 行目 sato0002: 保持。M",
        "    氏名: 実行前 'A'、バッチの値 'B'、現在 'C'",
    ]


def test_groups_in_japanese(cli: Run) -> None:  # noqa: F811
    assert cli("--lang", "ja", "groups", "add", "Sales", "Lab") == (
        0,
        "Sales（作成済み）\nLab\n",
        "",
    )
    assert cli("groups", "add", "Lab") == (0, "Lab (exists already)\n", "")


def test_backup_and_restore_refuse_in_japanese(
    run: Run, in_sqlite: Settings, tmp_path: Path
) -> None:
    backup = tmp_path / "backup.db"
    code, out, _err = run("--lang", "ja", "backup", str(backup))
    assert code == 0
    assert out.startswith(f"ユーザー 0 人とバッチ 0 件を {backup} にバックアップしました（")
    assert "秘密鍵が含まれています" in out

    code, _out, err = run("--lang", "ja", "backup", str(backup))
    assert code == 2
    assert err == (
        f"userbatch: {backup} はすでに存在します。バックアップには新しいファイル名を指定してください\n"
    )
    code, _out, err = run("--lang", "ja", "restore", str(backup))  # the database is there
    assert code == 1 and "空のデータフォルダーに復元するか" in err and "restore into" not in err
    code, _out, err = run("--lang", "ja", "restore", str(tmp_path / "nowhere.db"))
    assert (code, err) == (2, f"userbatch: {tmp_path / 'nowhere.db'} にバックアップがありません\n")
    code, _out, err = run("restore", str(tmp_path / "nowhere.db"))
    assert err == f"userbatch: no backup at {tmp_path / 'nowhere.db'}\n"


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("DATABASE_URL", "foo", "userbatch: 設定エラー: DATABASE_URL: データベースのURLではありません"
         "（例: postgresql://user@host/db）（指定値: 'foo'）"),
        ("USERBATCH_SESSION_MINUTES", "1",
         "userbatch: 設定エラー: USERBATCH_SESSION_MINUTES: 5 以上の値を指定してください（指定値: '1'）"),
        ("REDIS_URL", "localhost:6379", "userbatch: 設定エラー: REDIS_URL: redis://、rediss://、"
         "unix:// のいずれかで始めてください（指定値: 'localhost:6379'）"),
    ],
)  # fmt: skip
def test_a_configuration_error_in_japanese(
    run: Run,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    variable: str,
    value: str,
    expected: str,
) -> None:
    monkeypatch.setenv("USERBATCH_DATA_DIR", str(tmp_path))
    monkeypatch.setenv(variable, value)
    code, _out, err = run("--lang", "ja", "groups", "list")
    assert (code, err.splitlines()) == (2, [expected])


def test_two_configuration_errors_are_one_line(
    run: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("USERBATCH_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("USERBATCH_SESSION_DAYS", "soon")
    monkeypatch.setenv("USERBATCH_PASSWORD_SIGN_IN", "maybe")
    code, _out, err = run("--lang", "ja", "groups", "list")
    assert code == 2
    assert err.splitlines() == [
        "userbatch: 設定エラー: USERBATCH_SESSION_DAYS: 整数を指定してください。文字列を整数として"
        "解釈できません（指定値: 'soon'）；USERBATCH_PASSWORD_SIGN_IN: 真偽値（true または false）"
        "を指定してください。値を解釈できません（指定値: 'maybe'）"
    ]


def test_domain_errors_in_japanese(tmp_path: Path) -> None:
    embedded = Settings(data_dir=tmp_path / "data", redis_url=None)  # its server is not running
    with pytest.raises(ConfigError) as not_running:
        redis_connection(embedded)
    sealed = seal(Settings(data_dir=tmp_path / "one"), "secret")
    with pytest.raises(ConfigError) as other_key:
        unseal(Settings(data_dir=tmp_path / "other"), sealed)
    with speaking("ja"):
        assert str(not_running.value) == (
            "内蔵Redisサーバーが動いていません。'userbatch serve' で userbatch を起動するか、"
            "REDIS_URL を設定してください"
        )
        assert str(other_key.value).startswith("USERBATCH_SECRET_KEY: 暗号化されたデータを")
    assert str(other_key.value).startswith("USERBATCH_SECRET_KEY: sealed data cannot be unsealed")


def test_serve_says_where_invitations_link_in_japanese(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with speaking("ja"):
        served = _served(Settings(data_dir=tmp_path), "0.0.0.0", 8600)
    assert served.base_url == "http://localhost:8600"
    assert capsys.readouterr().out == (
        "userbatch: 招待メールのリンクは http://localhost:8600 で始まります。ユーザーがアプリに"
        "アクセスするアドレスを USERBATCH_BASE_URL に設定してください\n"
    )


@pytest.mark.parametrize(
    ("argv", "japanese", "english"),
    [
        (["--help"], ["CSVファイルからユーザーアカウントを一括で登録・更新します。",
                      "グループの作成・一覧", "メッセージの言語"],
         ["Register and update user accounts in bulk from CSV files.", "create or list groups"]),
        (["jobs", "list", "--help"], ["すべてのバッチ（新しい順）", "1つのJSONドキュメントとして出力"],
         ["every batch, newest first", "print one JSON document"]),
        (["import", "--help"], ["ファイルをチェックし、エラーがなければバッチとして実行",
                                "ジョブが終わるまで待つ"],
         ["check a file and, if it has no error, run it", "wait until the job ends"]),
    ],
)  # fmt: skip
def test_help_in_japanese(
    run: Run, argv: list[str], japanese: list[str], english: list[str]
) -> None:
    code, out, _err = run("--lang", "ja", *argv)
    assert code == 0
    flat = " ".join(out.split())  # argparse wraps the help to the terminal's width
    assert all(words in flat for words in japanese), out
    assert not any(words in flat for words in english), out
    code, out, _err = run(*argv)
    flat = " ".join(out.split())
    assert all(words in flat for words in english) and not JAPANESE_WORDS.search(out), out


def test_a_japanese_locale_picks_japanese(
    run: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "ja_JP.UTF-8")
    monkeypatch.setenv("USERBATCH_DATA_DIR", str(tmp_path))
    code, out, _err = run("--help")
    assert code == 0 and "グループの作成・一覧" in out
    monkeypatch.setenv("DATABASE_URL", "foo")
    code, _out, err = run("groups", "list")
    assert code == 2 and err.startswith("userbatch: 設定エラー: DATABASE_URL: データベースのURL")
    code, _out, err = run("--lang", "en", "groups", "list")  # --lang wins over the locale
    assert err.startswith("userbatch: configuration error: DATABASE_URL: is not a database URL")
    monkeypatch.delenv("DATABASE_URL")
    code, _out, err = run("restore", str(tmp_path / "nowhere.db"))
    assert err == f"userbatch: {tmp_path / 'nowhere.db'} にバックアップがありません\n"


def test_argparses_own_words_in_japanese(run: Run) -> None:
    code, out, _err = run("--lang", "ja", "jobs", "show", "--help")
    assert code == 0
    assert out.startswith("使い方: userbatch jobs show") and "オプション:" in out, out
    assert "このヘルプを表示して終了します" in out and "usage:" not in out, out
    code, _out, err = run("--lang", "ja", "jobs", "show")
    assert code == 2
    assert "userbatch jobs show: エラー: 次の引数を指定してください: id" in err, err
    code, _out, err = run("jobs", "show")
    assert code == 2 and "error: the following arguments are required: id" in err, err
