"""The ``userbatch`` command: exit codes, JSON documents, and import --wait end to end."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import World
from tests.helpers import settings_env
from userbatch.cli.main import COMMANDS, build_parser, main
from userbatch.db import open_database
from userbatch.settings import Settings

GOOD = "Login ID,Name,Email,Belong to\r\ntanaka01,Tanaka,tanaka@example.com,Sales\r\nsuzuki01,Suzuki,,\r\n"
BAD = "Login ID,Name,Email\r\ntanaka01,Tanaka,tanaka@\r\nab1,X,\r\n"


@pytest.fixture
def cli(
    world: World, use_env: Callable[[Settings], None], capsys: pytest.CaptureFixture[str]
) -> Callable[..., tuple[int, str, str]]:
    use_env(world.settings)

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def _commands(parser: object) -> set[str]:
    choices = next(
        action.choices
        for action in parser._actions  # type: ignore[attr-defined]
        if action.dest == "command"
    )
    return set(choices)


def test_each_command_is_found_by_its_module_alone() -> None:
    """The parser of one command (what ``main`` builds for it) knows that command: no
    command is missing from ``COMMANDS``, nor named there for the wrong module."""
    assert set(COMMANDS) == _commands(build_parser())
    for command in COMMANDS:
        assert command in _commands(build_parser(command))


def _file(tmp_path: Path, text: str, name: str = "users.csv", encoding: str = "utf-8") -> str:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


def test_check_exit_codes_and_json(
    cli: Callable[..., tuple[int, str, str]], tmp_path: Path
) -> None:
    code, out, _ = cli("check", _file(tmp_path, GOOD), "--json")
    assert code == 0
    document = json.loads(out)
    assert document["counts"] == {"new": 2, "update": 0, "unchanged": 0, "error": 0}
    assert document["file"] == {
        "name": "users.csv",
        "encoding": "utf-8",
        "delimiter": ",",
        "rows": 2,
    }

    code, out, _ = cli("check", _file(tmp_path, BAD), "--json")
    assert code == 1
    rows = json.loads(out)["rows"]
    assert [issue["code"] for row in rows for issue in row["issues"]] == [
        "invalid_email",
        "too_short",
    ]


def test_check_prints_what_to_fix(cli: Callable[..., tuple[int, str, str]], tmp_path: Path) -> None:
    code, out, _ = cli("check", _file(tmp_path, BAD))
    assert code == 1
    assert out.splitlines() == [
        "users.csv: 2 rows (Shift_JIS (CP932), comma-separated)"
        if False
        else "users.csv: 2 rows (UTF-8, comma-separated)",
        "New 0 · Update 0 · Unchanged 0 · Error 2",
        "Row 2, Email: Email 'tanaka@' is not a valid e-mail address: There must be something after the @-sign.",
        "Row 3, Login ID: Login ID must be 5–30 characters; 'ab1' has 3.",
    ]


def test_a_file_error_is_exit_1_with_its_code(
    cli: Callable[..., tuple[int, str, str]], tmp_path: Path
) -> None:
    code, out, _ = cli("check", _file(tmp_path, "Login ID,Nmae\r\na,b\r\n"), "--json")
    assert code == 1
    document = json.loads(out)
    assert document["file_errors"][0]["code"] == "unknown_column"
    assert "Did you mean 'Name'?" in document["file_errors"][0]["message"]
    assert document["rows"] == []


@pytest.mark.parametrize(
    "argv",
    [["check"], ["check", "nope.csv"], ["import", "x.csv", "--send-at"], ["frobnicate"]],
)
def test_bad_usage_is_exit_2(cli: Callable[..., tuple[int, str, str]], argv: list[str]) -> None:
    assert cli(*argv)[0] == 2


def test_template_in_both_encodings(
    cli: Callable[..., tuple[int, str, str]], tmp_path: Path
) -> None:
    for encoding, prefix in (
        ("utf-8-sig", b"\xef\xbb\xbfLogin ID,Name,"),
        ("cp932", b"Login ID,Name,"),
    ):
        output = tmp_path / f"template-{encoding}.csv"
        assert cli("template", "-o", str(output), "--encoding", encoding)[0] == 0
        assert output.read_bytes().startswith(prefix)
        assert output.read_bytes().endswith(b"Belong to\r\n")


def test_groups_add_and_list(cli: Callable[..., tuple[int, str, str]]) -> None:
    assert cli("groups", "add", "Sales>>Osaka", "Research>>Lab 1")[0] == 0
    code, out, _ = cli("groups", "list")
    assert out.splitlines() == [
        "Research",
        "Research>>Lab 1",
        "Sales",
        "Sales>>Osaka",
        "Sales>>Tokyo",
        "Support",
    ]
    code, _, err = cli("groups", "add", "Bad|Name")
    assert code == 1 and "must not contain '|'" in err  # a rule broken: refused, not bad usage
    # Run again by a script: the groups there already are named, the new one created.
    assert cli("groups", "add", "Sales>>Osaka", "Lab") == (
        0, "Sales>>Osaka (exists already)\nLab\n", ""
    )  # fmt: skip


def test_export_then_check_is_all_unchanged(
    world: World, cli: Callable[..., tuple[int, str, str]], tmp_path: Path
) -> None:
    world.add_user("sato0002", name="Sato", email="sato@example.com", groups=("Sales",))
    output = tmp_path / "all.csv"
    assert cli("export", "-o", str(output))[0] == 0
    code, out, _ = cli("check", str(output), "--json")
    assert code == 0 and json.loads(out)["counts"]["unchanged"] == 1


def _import_wait(settings: Settings, path: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "userbatch", "import", path, "--wait", "--json", *extra],
        env=settings_env(settings), capture_output=True, text=True, timeout=180,
    )  # fmt: skip


def test_import_wait_with_the_zero_set_up_default(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings(redis_url=None)
    open_database(settings)
    setup = subprocess.run(
        [sys.executable, "-m", "userbatch", "setup", "--organisation", "Acme", "--admin", "admin"],
        env=settings_env(settings) | {"USERBATCH_ADMIN_PASSWORD": "correct-horse-7"},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert setup.returncode == 0, setup.stderr
    subprocess.run(
        [sys.executable, "-m", "userbatch", "groups", "add", "Sales"],
        env=settings_env(settings), check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    result = _import_wait(settings, _file(tmp_path, GOOD), "--invite", "--send-at", later)
    assert result.returncode == 0, result.stderr
    job = json.loads(result.stdout)["job"]
    assert job["state"] == "finished"
    assert job["progress"] == {"done": 2, "total": 2}
    assert job["counts"] == {"created": 2, "updated": 0, "unchanged": 0, "failed": 0}
    assert job["invitations"] == {"scheduled": 1, "sent": 0, "kept": 0, "failed": 0}
    assert not (settings.data_dir / "runtime.json").exists()  # it stopped what it started


@contextlib.contextmanager
def _worker(settings: Settings) -> Iterator[None]:
    """A ``userbatch worker`` process for ``settings`` while the block runs."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "userbatch", "worker"], env=settings_env(settings),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        yield
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def test_import_wait_with_redis_url_and_a_worker(world: World, tmp_path: Path) -> None:
    with _worker(world.settings):
        result = _import_wait(world.settings, _file(tmp_path, GOOD))
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["counts"]["new"] == 2
    assert document["job"]["counts"]["created"] == 2


def test_import_refuses_a_file_with_errors(
    cli: Callable[..., tuple[int, str, str]], tmp_path: Path
) -> None:
    code, out, _ = cli("import", _file(tmp_path, BAD), "--json")
    assert code == 1
    assert "job" not in json.loads(out)


def test_a_messy_excel_file_says_which_cell_to_fix(world: World) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "userbatch", "check", str(Path(__file__).parents[1] / "data" / "messy.csv"), "--json"],
        env=settings_env(world.settings), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    document = json.loads(result.stdout)
    assert document["file"] == {
        "name": "messy.csv",
        "encoding": "cp932",
        "delimiter": ",",
        "rows": 4,
    }
    assert document["counts"] == {"new": 2, "update": 0, "unchanged": 0, "error": 2}
    issues = [
        (row["row"], issue["column"], issue["level"], issue["message"])
        for row in document["rows"]
        for issue in row["issues"]
    ]
    assert issues == [
        (
            2,
            "ログインID",
            "warning",
            "Login ID was typed in full-width characters; it was converted to 'yamada01'.",
        ),
        (3, "ログインID", "error", "Login ID must be 5–30 characters; 'sato' has 4."),
        (
            3,
            "メールアドレス",
            "error",
            "Email 'sato@example' is not a valid e-mail address: The part after the @-sign is not valid. It should have a period.",
        ),
        (5, "氏名", "error", "Name is required."),
        (
            5,
            "所属グループ",
            "error",
            "The group 'Sales>>Osaka' does not exist. Did you mean 'Sales>>Tokyo'? Create it under Groups, or fix the path (parent first, like Sales>>Tokyo).",
        ),
        (
            6,
            "メールアドレス",
            "warning",
            "Email was typed in full-width characters; it was converted to 'tanaka@example.com'.",
        ),
    ]


def test_jobs_cancel_and_retry(
    world: World, cli: Callable[..., tuple[int, str, str]], tmp_path: Path, clean_redis: object
) -> None:
    code, out, _ = cli("import", _file(tmp_path, GOOD), "--json")  # queued; no worker runs
    assert code == 0
    batch_id = json.loads(out)["job"]["id"]
    world.manager("mgr", "Sales")
    for action in ("show", "retry", "cancel"):
        code, _, err = cli("--as", "mgr", "jobs", action, batch_id)
        assert code == 1 and "That batch belongs to another operator." in err
    code, _, err = cli("jobs", "retry", batch_id)
    assert code == 1 and "Only a failed batch can be retried; this one is queued." in err
    code, out, _ = cli("jobs", "cancel", batch_id, "--json")
    assert code == 0 and json.loads(out)["state"] == "canceled"
    code, _, err = cli("jobs", "cancel", batch_id)
    assert code == 1 and "this one is canceled" in err
    code, out, _ = cli("jobs", "list", "--json")
    assert [job["state"] for job in json.loads(out)] == ["canceled"]


def test_jobs_undo_previews_then_undoes(
    world: World, cli: Callable[..., tuple[int, str, str]], tmp_path: Path
) -> None:
    with _worker(world.settings):
        imported = _import_wait(world.settings, _file(tmp_path, GOOD))
        assert imported.returncode == 0, imported.stderr
        batch_id = json.loads(imported.stdout)["job"]["id"]
        code, out, _ = cli("jobs", "undo", batch_id, "--dry-run", "--json")
        assert code == 0
        plan = json.loads(out)
        assert plan["counts"]["delete"] == 2
        assert [(row["key"], row["action"]) for row in plan["rows"]] == [
            ("tanaka01", "delete"), ("suzuki01", "delete"),
        ]  # fmt: skip
        code, out, _ = cli("jobs", "undo", batch_id, "--dry-run")
        assert code == 0 and out.startswith("Undo of users.csv: 2 delete, 0 suspend")
        undone = subprocess.run(
            [sys.executable, "-m", "userbatch", "jobs", "undo", batch_id, "--wait", "--json"],
            env=settings_env(world.settings), capture_output=True, text=True, timeout=180,
        )  # fmt: skip
    assert undone.returncode == 0, undone.stderr
    job = json.loads(undone.stdout)
    assert (job["state"], job["undo_of"], job["counts"]["deleted"]) == ("finished", batch_id, 2)
    code, _, err = cli("jobs", "undo", batch_id, "--dry-run")
    assert code == 1 and "undone already" in err


def test_a_complete_list_on_the_command_line_waits_for_its_number(
    world: World,
    cli: Callable[..., tuple[int, str, str]],
    tmp_path: Path,
    use_env: Callable[[Settings], None],
    clean_redis: object,
) -> None:
    for login in ("sato0002", "kato0003", "inoue001"):
        world.add_user(login, name=login[:4].title(), groups=("Sales",))
    use_env(world.settings.model_copy(update={"mass_change_min_users": 1}))
    path = _file(tmp_path, "Login ID,Name,Department\r\nsato0002,Sato,\r\n")
    code, out, _ = cli("check", path, "--group", "Sales", "--complete", "--json")
    document = json.loads(out)
    assert code == 0 and document["counts"]["suspend"] == 2
    assert [(r["row"], r["status"], r["key"]) for r in document["rows"][1:]] == [
        (None, "suspend", "kato0003"), (None, "suspend", "inoue001"),
    ]  # fmt: skip
    code, _, err = cli("import", path, "--group", "Sales", "--complete")
    assert code == 1
    assert "2 users will be suspended. Run again with --confirm 2 to go ahead." in err
    code, out, _ = cli("import", path, "--group", "Sales", "--complete", "--confirm", "2", "--json")
    assert code == 0 and json.loads(out)["job"]["progress"]["total"] == 3
    code, out, _ = cli("check", path, "--blank", "clear", "--json")
    assert json.loads(out)["counts"]["update"] == 0  # the department was blank already


def test_tokens_create_list_revoke(world: World, cli: Callable[..., tuple[int, str, str]]) -> None:
    code, out, err = cli("tokens", "create", "HR nightly", "--expires-days", "30")
    assert code == 0
    token = out.strip()
    assert token.startswith("ubt_") and "shown this once" in err
    code, out, _ = cli("tokens", "create", "Second", "--json")
    assert code == 0
    second = json.loads(out)
    assert second["token"].startswith("ubt_") and second["state"] == "active"
    code, out, _ = cli("tokens", "list", "--json")
    listed = json.loads(out)
    assert [item["name"] for item in listed] == ["Second", "HR nightly"]
    assert all("token" not in item and item["prefix"] for item in listed)
    assert listed[1]["expires_at"] is not None
    code, out, _ = cli("tokens", "list")
    assert "HR nightly" in out and token not in out and token[:10] in out
    assert cli("tokens", "revoke", str(second["id"]))[0] == 0
    assert json.loads(cli("tokens", "list", "--json")[1])[0]["state"] == "revoked"
    code, _, err = cli("tokens", "revoke", "999")
    assert code == 1 and "999" in err
    code, _, err = cli("tokens", "create", "")
    assert code == 1
    world.manager("lead", "Sales")
    code, out, _ = cli("tokens", "create", "For the lead", "--as", "lead", "--json")
    assert (
        code == 0
        and json.loads(cli("--as", "lead", "tokens", "list", "--json")[1])[0]["name"]
        == "For the lead"
    )
    code, _, err = cli("--lang", "ja", "tokens", "create", "日本語")
    assert code == 0 and "一度だけ" in err
