"""A complete list suspends who it leaves out, the mass-change guard, and what blank cells do."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.batches.test_apply import _store
from tests.check.test_check import H, run_check
from tests.conftest import RunBatch, RunUndo, World
from userbatch.admin.users import export_users
from userbatch.batches.history import job_document, row_outcomes
from userbatch.check.report import to_document
from userbatch.db import session
from userbatch.errors import Unconfirmed
from userbatch.models import User


def _statuses(world: World) -> dict[str, str]:
    with session(world.engine) as db:
        return dict(db.execute(select(User.login_id, User.status)).all())


def _everyone(world: World) -> World:
    """sato0002 and kato0003 in Sales, inoue001 in Sales>>Tokyo, kimura01 in Support, and
    ono00001 in Sales but suspended already."""
    world.add_user("sato0002", name="Sato", groups=("Sales",))
    world.add_user("kato0003", name="Kato", groups=("Sales",))
    world.add_user("inoue001", groups=("Sales>>Tokyo",))
    world.add_user("kimura01", groups=("Support",))
    world.add_user("ono00001", groups=("Sales",), status="suspended")
    return world


def test_a_complete_list_suspends_exactly_who_it_leaves_out(
    world: World, run_batch: RunBatch
) -> None:
    _everyone(world)
    text = H + "sato0002,Sato,,,,,,,\ntanaka01,Tanaka,,,,,,,\n"
    result = run_check(world, text, working="Sales", complete=True)
    assert result.counts == {
        "new": 1, "update": 0, "unchanged": 1, "error": 0, "suspend": 2,
    }  # fmt: skip
    document = to_document(result)
    assert [(row["row"], row["status"], row["key"]) for row in document["rows"]] == [
        (2, "unchanged", "sato0002"), (3, "new", "tanaka01"),
        (None, "suspend", "kato0003"), (None, "suspend", "inoue001"),
    ]  # fmt: skip
    batch_id = _store(world, text, working="Sales", complete=True)
    batch = run_batch(world, batch_id)
    assert (batch.state, batch.created, batch.updated) == ("finished", 1, 2)
    assert _statuses(world) == {
        "sato0002": "valid", "tanaka01": "valid", "kato0003": "suspended",
        "inoue001": "suspended", "kimura01": "valid",  # outside the working group
        "ono00001": "suspended",
    }  # fmt: skip
    assert [r.outcome for r in row_outcomes(world.engine, batch_id)][-2:] == ["suspended"] * 2
    # Listed again with a blank Status, a suspended user stays suspended; Valid reactivates.
    again = _store(world, H + "kato0003,Kato,,,,,,,\ninoue001,Inoue,,,,,Valid,,\n")
    run_batch(world, again)
    assert _statuses(world)["kato0003"] == "suspended"
    assert _statuses(world)["inoue001"] == "valid"


def test_a_managers_complete_list_never_reaches_outside_their_groups(
    world: World, run_batch: RunBatch
) -> None:
    _everyone(world)
    manager = world.manager("tokyo-lead", "Sales>>Tokyo")
    result = run_check(world, H + "tanaka01,Tanaka,,,,,,,\n", operator=manager, complete=True)
    assert result.suspended() == [
        {"row": None, "status": "suspend", "key": "inoue001", "issues": [],
         "changes": {"Status": ["Valid", "Suspended"]}},
    ]  # fmt: skip


def test_the_guard_stops_a_mass_suspension_until_its_number_is_confirmed(
    world: World, run_batch: RunBatch
) -> None:
    world.settings = world.settings.model_copy(update={"mass_change_min_users": 2})
    _everyone(world)
    text = H + "sato0002,Sato,,,,,,,\n"
    with pytest.raises(Unconfirmed) as refused:
        _store(world, text, complete=True)  # the whole organisation: 3 left out of 5
    assert str(refused.value).startswith("3 users will be suspended.")
    with pytest.raises(Unconfirmed):
        _store(world, text, complete=True, confirmed=2)
    batch_id = _store(world, text, complete=True, confirmed=3)
    assert run_batch(world, batch_id).updated == 3
    # Within the limit, nothing to confirm.
    assert _store(world, H + "kato0003,Kato,,,,Ops,,,\n")


def test_blank_cells_keep_by_default_and_clear_when_chosen(
    world: World, run_batch: RunBatch
) -> None:
    world.add_user("sato0002", name="Sato", department="Sales", position="Lead", email="s@x.jp")
    run_batch(world, _store(world, H + "sato0002,Sato S,,,,,,,\n"))
    with session(world.engine) as db:
        sato = db.scalars(select(User)).one()
        assert (sato.name, sato.department, sato.email) == ("Sato S", "Sales", "s@x.jp")
    run_batch(world, _store(world, H + "sato0002,Sato T,,,,,,,\n", blank="clear"))
    with session(world.engine) as db:
        sato = db.scalars(select(User)).one()
        assert (sato.name, sato.department, sato.email) == ("Sato T", None, None)
        assert sato.position == "Lead"  # not a column of the file


def test_a_user_download_uploaded_again_writes_nothing_either_way(
    people: World, run_batch: RunBatch
) -> None:
    download = export_users(people.engine, people.columns(), scope_path="").decode("utf-8-sig")
    for blank in ("keep", "clear"):
        result = run_check(people, download, blank=blank)
        assert result.counts["update"] == 0 and result.counts["unchanged"] == 2
        batch_id = _store(people, download, blank=blank)
        assert job_document(people.engine, batch_id)["progress"]["total"] == 2
        assert run_batch(people, batch_id).updated == 0


def test_undoing_a_complete_list_gives_back_the_statuses(
    world: World, run_batch: RunBatch, run_undo: RunUndo
) -> None:
    _everyone(world)
    before = _statuses(world)
    batch_id = _store(world, H + "sato0002,Sato,,,,,,,\n", working="Sales", complete=True)
    run_batch(world, batch_id)
    assert _statuses(world) != before
    assert run_undo(world, batch_id).updated == 2
    assert _statuses(world) == before
