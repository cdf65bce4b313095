"""A manager of Sales tries every way out of the subtree: domain calls, the command line and
the pages. Each way ends in a refusal or in no outside data, on each database.

Proven elsewhere and not repeated here: the check's refusal of an outside user and of an
outside group (tests/test_check.py), rename, move and add outside (tests/test_groups.py),
jobs show/retry/cancel of another's batch on the command line (tests/test_cli.py), reissuing
another's link (tests/views/test_background.py), the template preview with an outside user
(tests/test_templates.py) and the sidebar's working groups (tests/views/test_batch_upload.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from redis import Redis
from sqlalchemy import select, update
from streamlit.testing.v1 import AppTest

from tests.batches.test_apply import _store
from tests.check.test_check import H, run_check
from tests.conftest import RunBatch, World
from tests.helpers import literal
from userbatch.admin.users import (
    change_login_id,
    export_rows,
    export_users,
    search_users,
    user_detail,
)
from userbatch.batches.history import batch_for, list_batches, row_outcomes
from userbatch.batches.store import store_batch
from userbatch.cli.main import main
from userbatch.db import session
from userbatch.directory.auth import OperatorInfo
from userbatch.directory.groups import (
    add_group,
    delete_group,
    group_tree,
    groups_in_scope,
    move_group,
    rename_group,
)
from userbatch.errors import UserbatchError
from userbatch.models import Batch, Operator, User
from userbatch.settings import Settings
from userbatch.ui import keys
from userbatch.worker.submit import cancel_batch, retry_batch

SCOPE = "Sales"
INSIDE = ["Sales", "Sales>>Tokyo"]


@pytest.fixture
def mgr(people: World) -> OperatorInfo:
    """The manager of Sales (sato0002 is theirs, kato0003 in Support is not)."""
    return people.manager("mgr", SCOPE)


def _user_id(world: World, login_id: str) -> int:
    with session(world.engine) as db:
        return db.scalars(select(User.id).where(User.login_id == login_id)).one()


# -- domain ----------------------------------------------------------------------------------


def test_users_outside_are_absent_from_search_and_download(people: World) -> None:
    users, total = search_users(people.engine, scope_path=SCOPE, text="o")
    assert (total, [u.login_id for u in users]) == (1, ["sato0002"])
    assert search_users(people.engine, scope_path=SCOPE, text="kato") == ([], 0)
    rows = export_rows(people.engine, people.columns(), scope_path=SCOPE)
    assert [row[0] for row in rows] == ["sato0002"]
    assert b"kato" not in export_users(people.engine, people.columns(), scope_path=SCOPE)


@pytest.mark.parametrize(
    "attempt",
    [
        lambda w, kato: search_users(w.engine, scope_path=SCOPE, group_path="Support"),
        lambda w, kato: search_users(w.engine, scope_path=SCOPE, group_path=""),
        lambda w, kato: list(
            export_rows(w.engine, w.columns(), scope_path=SCOPE, group_path="Support")
        ),
        lambda w, kato: export_users(w.engine, w.columns(), scope_path=SCOPE, group_path=""),
        lambda w, kato: user_detail(w.engine, kato, w.columns(), scope_path=SCOPE),
        lambda w, kato: change_login_id(w.engine, kato, "kato9999", scope_path=SCOPE),
    ],
    ids=["search Support", "search root", "rows of Support", "download root", "detail", "edit"],
)
def test_outside_users_are_refused(people: World, attempt: Callable[[World, int], object]) -> None:
    kato = _user_id(people, "kato0003")
    with pytest.raises(UserbatchError, match="outside your groups"):
        attempt(people, kato)
    with session(people.engine) as db:
        assert db.get_one(User, kato).login_id == "kato0003"


def test_the_tree_shows_only_the_subtree(world: World) -> None:
    assert [g.path for g in groups_in_scope(world.engine, SCOPE)] == INSIDE
    assert [node.path for node in group_tree(world.engine, SCOPE)] == INSIDE


@pytest.mark.parametrize(
    ("attempt", "message"),
    [
        (lambda w: delete_group(w.engine, w.groups["Support"].id, scope_path=SCOPE), "outside"),
        (lambda w: delete_group(w.engine, w.groups[""].id, scope_path=SCOPE), "outside"),
        (lambda w: delete_group(w.engine, w.groups[SCOPE].id, scope_path=SCOPE), "manages it"),
        (lambda w: rename_group(w.engine, w.groups[""].id, "Evil", scope_path=SCOPE), "outside"),
        (lambda w: add_group(w.engine, "Evil", scope_path=SCOPE), "outside"),
        (
            lambda w: move_group(
                w.engine, w.groups["Sales>>Tokyo"].id, w.groups[""].id, scope_path=SCOPE
            ),
            "outside",
        ),
        (
            lambda w: move_group(
                w.engine, w.groups["Support"].id, w.groups["Sales"].id, scope_path=SCOPE
            ),
            "outside",
        ),
        (
            lambda w: move_group(
                w.engine, w.groups[SCOPE].id, w.groups["Support"].id, scope_path=SCOPE
            ),
            "outside",
        ),
    ],
    ids=[
        "delete outside", "delete the root", "delete their own top", "rename the root",
        "add at the top", "move out of the subtree", "move an outside group in",
        "move their own top out",
    ],
)  # fmt: skip
def test_group_edits_outside_are_refused(
    world: World, attempt: Callable[[World], object], message: str
) -> None:
    world.manager("mgr", SCOPE)
    before = [g.path for g in groups_in_scope(world.engine, "")]
    with pytest.raises(UserbatchError, match=message):
        attempt(world)
    assert [g.path for g in groups_in_scope(world.engine, "")] == before


def test_a_checked_file_cannot_be_stored_for_an_outside_working_group(
    people: World, mgr: OperatorInfo
) -> None:
    # Blank "Belong to" means the working group: a new user would land in Support.
    result = run_check(people, H + "tanaka01,T,,,,,,,\n", operator=mgr, working="Support")
    with pytest.raises(UserbatchError, match="working group 'Support' is outside your groups"):
        store_batch(
            people.engine, people.settings, result, operator=mgr,
            working_group=people.groups["Support"],
        )  # fmt: skip
    with session(people.engine) as db:
        assert db.scalars(select(Batch.id)).all() == []


def test_another_operators_batch_is_out_of_reach(
    people: World, mgr: OperatorInfo, clean_redis: Redis
) -> None:
    theirs = _store(people, H + "kato0003,Kato K,,kato@example.com,,,,,\n")
    assert list_batches(people.engine, mgr) == []
    for attempt in (
        lambda: batch_for(people.engine, mgr, theirs),
        lambda: retry_batch(people.engine, people.settings, mgr, theirs),
        lambda: cancel_batch(people.engine, people.settings, mgr, theirs),
    ):
        with pytest.raises(UserbatchError, match="belongs to another operator"):
            attempt()
    with session(people.engine) as db:
        assert db.get_one(Batch, theirs).state == "stored"


# -- apply time ------------------------------------------------------------------------------

UPDATE_SATO = H + "sato0002,Sato S,,sato@example.com,,,,,\n"
MOVE_SATO_OUT = H + "sato0002,Sato,,sato@example.com,,,,,Support\n"


def _managers_batch(world: World, manager: OperatorInfo) -> str:
    """The manager's checked batch that renames sato0002 (in Sales at the check), stored."""
    result = run_check(world, UPDATE_SATO, operator=manager)
    assert result.counts["update"] == 1
    return store_batch(
        world.engine, world.settings, result, operator=manager,
        working_group=world.groups[SCOPE],
    )  # fmt: skip


def _outcome_of_sato(world: World, run_batch: RunBatch, batch_id: str) -> tuple[str, str]:
    run_batch(world, batch_id)
    [row] = row_outcomes(world.engine, batch_id)
    with session(world.engine) as db:
        name = db.scalars(select(User.name).where(User.login_id == "sato0002")).one()
    return row.outcome, name


def test_a_user_moved_out_before_the_run_fails_alone_with_its_reason(
    people: World, mgr: OperatorInfo, run_batch: RunBatch
) -> None:
    batch_id = _managers_batch(people, mgr)
    run_batch(people, _store(people, MOVE_SATO_OUT))
    outcome, name = _outcome_of_sato(people, run_batch, batch_id)
    assert (outcome, name) == ("failed", "Sato")
    [row] = row_outcomes(people.engine, batch_id)
    assert "Since the check" in row.message and "outside your groups" in row.message


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        # the scope narrowed below sato0002's group
        ({"scope_group_id": "Sales>>Tokyo"}, "is no longer among the groups of 'mgr'"),
        ({"disabled": True}, "was disabled after the check"),
    ],
    ids=["scope narrowed", "manager disabled"],
)
def test_a_managers_batch_runs_with_the_managers_current_rights(
    people: World,
    mgr: OperatorInfo,
    change: dict[str, object],
    reason: str,
    run_batch: RunBatch,
) -> None:
    batch_id = _managers_batch(people, mgr)
    values = {
        key: people.groups[value].id if key == "scope_group_id" else value
        for key, value in change.items()
    }
    with session(people.engine) as db, db.begin():
        db.execute(update(Operator).where(Operator.id == mgr.id).values(**values))
    assert _outcome_of_sato(people, run_batch, batch_id) == ("failed", "Sato")
    [row] = row_outcomes(people.engine, batch_id)
    assert reason in row.message


def test_a_user_in_two_subtrees_is_seen_and_changed_in_the_managers_part_only(
    people: World, mgr: OperatorInfo, run_batch: RunBatch
) -> None:
    both = people.add_user("both0004", name="Both", email="both@example.com",
                           groups=("Sales", "Support"))  # fmt: skip
    columns = people.columns()
    belong_to = [c.key for c in columns].index("belong_to")
    download = {row[0]: row for row in export_rows(people.engine, columns, scope_path=SCOPE)}
    assert download["both0004"][belong_to] == "Sales"
    users, _ = search_users(people.engine, scope_path=SCOPE, text="both")
    assert [user.groups for user in users] == ["Sales"]
    detail = user_detail(people.engine, both, columns, scope_path=SCOPE)
    assert detail.values["belong_to"] == "Sales"
    # The manager's download comes back unchanged; a new group replaces only the Sales part.
    text = export_users(people.engine, columns, scope_path=SCOPE).decode("utf-8-sig")
    assert run_check(people, text, operator=mgr).counts["unchanged"] == 2
    result = run_check(
        people, H + "both0004,Both,,both@example.com,,,,,Sales>>Tokyo\n", operator=mgr
    )
    [row] = result.ordered()
    assert row.changes == {"Belong to": ("Sales", "Sales>>Tokyo")}
    batch_id = store_batch(
        people.engine, people.settings, result, operator=mgr, working_group=people.groups[SCOPE]
    )
    run_batch(people, batch_id)
    everything = {row[0]: row for row in export_rows(people.engine, columns, scope_path="")}
    assert everything["both0004"][belong_to] == "Sales>>Tokyo||Support"


# -- the command line ------------------------------------------------------------------------


@pytest.fixture
def as_mgr(
    people: World,
    mgr: OperatorInfo,
    use_env: Callable[[Settings], None],
    capsys: pytest.CaptureFixture[str],
) -> Callable[..., tuple[int, str, str]]:
    """``userbatch --as mgr ARGS...``: exit code, standard output, standard error."""
    use_env(people.settings)

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(["--as", mgr.login, *argv])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def _csv(tmp_path: Path, text: str) -> str:
    path = tmp_path / "users.csv"
    path.write_text(text)
    return str(path)


def test_cli_lists_and_downloads_only_the_subtree(
    as_mgr: Callable[..., tuple[int, str, str]], tmp_path: Path
) -> None:
    code, out, _ = as_mgr("export")
    assert code == 0 and "sato0002" in out and "kato" not in out
    code, out, _ = as_mgr("groups", "list")
    assert (code, out.splitlines()) == (0, INSIDE)


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["export", "--group", "Support"], 1, "outside your groups"),
        (["check", "{file}", "--group", "Support"], 1, "outside your groups"),
        (["import", "{file}", "--group", "Support"], 1, "outside your groups"),
        (["groups", "add", "Support>>Desk"], 1, "outside your groups"),
        (["check", "{outside}", "--json"], 1, "outside your groups"),
        (["import", "{outside}", "--json"], 1, "outside your groups"),
    ],
    ids=[
        "export Support", "check in Support", "import in Support", "groups add outside",
        "check an outside user", "import an outside user",
    ],
)  # fmt: skip
def test_cli_refuses_the_outside(
    people: World,
    as_mgr: Callable[..., tuple[int, str, str]],
    tmp_path: Path,
    clean_redis: Redis,
    argv: list[str],
    code: int,
    message: str,
) -> None:
    files = {
        "{file}": _csv(tmp_path, "Login ID,Name\ntanaka01,T\n"),
        "{outside}": str(tmp_path / "outside.csv"),
    }
    Path(files["{outside}"]).write_text(
        "Login ID,Name,Belong to\nkato0003,Kato K,\ntanaka01,T,Support\n"
    )
    exit_code, out, err = as_mgr(*(files.get(arg, arg) for arg in argv))
    assert exit_code == code and message in out + err
    if "--json" in argv:
        rows = json.loads(out)["rows"]
        assert [issue["code"] for row in rows for issue in row["issues"]] == ["out_of_scope"] * 2
    with session(people.engine) as db:
        assert db.scalars(select(Batch.id)).all() == []
        assert sorted(db.scalars(select(User.login_id))) == ["kato0003", "sato0002"]
    assert "Support>>Desk" not in [g.path for g in groups_in_scope(people.engine, "")]


def test_cli_jobs_list_shows_only_the_managers_batches(
    people: World, as_mgr: Callable[..., tuple[int, str, str]]
) -> None:
    _store(people, H + "kato0003,Kato K,,kato@example.com,,,,,\n")
    code, out, _ = as_mgr("jobs", "list", "--json")
    assert (code, json.loads(out)) == (0, [])


def test_cli_refuses_a_disabled_manager(
    people: World, mgr: OperatorInfo, as_mgr: Callable[..., tuple[int, str, str]]
) -> None:
    with session(people.engine) as db, db.begin():
        db.execute(update(Operator).where(Operator.id == mgr.id).values(disabled=True))
    code, out, err = as_mgr("export")
    assert (code, out) == (2, "") and "there is no active operator 'mgr'" in err


# -- the pages -------------------------------------------------------------------------------


def test_manage_users_shows_and_opens_only_the_subtree(
    people: World, mgr: OperatorInfo, open_screen: Callable[..., AppTest]
) -> None:
    app = open_screen("lib/userbatch/ui/users.py", operator=mgr)
    assert app.dataframe[0].value["Login ID"].tolist() == ["sato0002"]
    assert app.selectbox(key="users_group").options == INSIDE
    assert app.selectbox(key="open_user").options == ["sato0002 — Sato"]
    app = open_screen(
        "lib/userbatch/ui/users.py", operator=mgr, open_user=_user_id(people, "kato0003")
    )
    assert not app.exception
    assert "kato" not in str([d.value.to_dict() for d in app.dataframe])
    assert [literal(e.value) for e in app.error] in ([], ["That user is outside your groups."])


def test_groups_screen_offers_only_the_subtree(
    world: World, open_screen: Callable[..., AppTest]
) -> None:
    app = open_screen("lib/userbatch/ui/groups.py", operator=world.manager("mgr", SCOPE))
    assert app.dataframe[0].value["Path"].tolist() == INSIDE
    for key in ("create_parent", "rename_group", "move_parent"):
        assert app.selectbox(key=key).options == INSIDE
    for key in ("move_group", "delete_group"):
        assert app.selectbox(key=key).options == ["Sales>>Tokyo"]
    app = open_screen(
        "lib/userbatch/ui/groups.py", operator=world.manager("mgr2", SCOPE),
        rename_group=world.groups["Support"].id,
    )  # fmt: skip
    assert not app.exception and app.selectbox(key="rename_group").options == INSIDE
    assert "Support" not in str([box.value for box in app.selectbox])


def test_job_history_does_not_open_another_operators_batch(
    people: World, mgr: OperatorInfo, open_screen: Callable[..., AppTest], clean_redis: Redis
) -> None:
    theirs = _store(people, H + "kato0003,Kato K,,kato@example.com,,,,,\n")
    _managers_batch(people, mgr)
    app = open_screen("lib/userbatch/ui/jobs.py", operator=mgr)
    assert app.dataframe[0].value["Operator"].tolist() == ["mgr"]
    app = open_screen("lib/userbatch/ui/jobs.py", operator=mgr, **{keys.JOBS_SELECTED: theirs})
    assert not app.exception
    assert len(app.dataframe) == 1 and not app.subheader  # no detail, no row outcomes
    assert "kato" not in str(app.dataframe[0].value.to_dict())


def test_batch_upload_keeps_the_working_group_inside(
    people: World, mgr: OperatorInfo, open_screen: Callable[..., AppTest]
) -> None:
    app = open_screen(
        "lib/userbatch/ui/batch/__init__.py", operator=mgr,
        **{keys.WORKING_GROUP: people.groups["Support"].id},
    )  # fmt: skip
    assert not app.exception
    assert app.sidebar.selectbox(key=keys.WORKING_GROUP).value == people.groups[SCOPE].id
    assert any("working group: **Sales**." in c.value for c in app.caption)
    assert not any("Support" in c.value for c in app.caption)
