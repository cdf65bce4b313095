"""User download and upload: SPEC §7's promise that an unchanged file changes nothing."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from tests.batches.test_apply import _store
from tests.check.test_check import run_check
from tests.conftest import RunBatch, World
from userbatch.admin.users import export_users
from userbatch.batches.history import results_file
from userbatch.check.report import error_report
from userbatch.db import session
from userbatch.files.download import write_table
from userbatch.models import FieldSetting, User

PEOPLE = [
    ("sato0002", {"name": "Sato", "email": "Sato@Example.com", "department": "=cmd|' /C calc'!A0", "groups": ("Sales",)}),
    ("kato0003", {"name": "加藤 花子", "display_name": "Kato", "email": "kato@example.com", "groups": ("Support", "Sales>>Tokyo")}),
    ("00042abc", {"name": "Zero", "position": "-lead", "status": "suspended", "groups": ()}),
]  # fmt: skip


@pytest.fixture
def people(world: World) -> World:
    with session(world.engine) as db, db.begin():
        db.add(FieldSetting(key="skills", custom=True, label="Skills", type="checkbox",
                            options=["Excel", "Python"], in_use=True, position=20))  # fmt: skip
    for login, fields in PEOPLE:
        groups = fields.pop("groups", ())
        world.add_user(login, groups=groups, **fields)  # type: ignore[arg-type]
        fields["groups"] = groups
    with session(world.engine) as db, db.begin():
        user = db.scalars(select(User).where(User.login_id == "kato0003")).one()
        user.custom = {"skills": ["Python", "Excel"]}
    return world


def _download(world: World) -> str:
    data = export_users(world.engine, world.columns(), scope_path="")
    return data.decode("utf-8-sig")


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_the_download_is_the_upload_format_and_formula_safe(people: World) -> None:
    rows = _rows(_download(people))
    assert rows[0] == [
        "Login ID", "Name", "Display name", "Email", "Password", "Department", "Position",
        "Status", "Expiration date", "Belong to", "Skills", "First login", "Creation date",
    ]  # fmt: skip
    assert [row[0] for row in rows[1:]] == ["00042abc", "kato0003", "sato0002"]
    assert rows[3][5] == "'=cmd|' /C calc'!A0"
    assert rows[1][6] == "'-lead"
    assert rows[2][9] == "Sales>>Tokyo||Support"


def test_an_unchanged_download_checks_as_unchanged(people: World) -> None:
    result = run_check(people, _download(people))
    assert result.counts == {"new": 0, "update": 0, "unchanged": 3, "error": 0}
    assert [str(n) for n in result.sheet.notices] == [
        "First login and Creation date are not imported; the values in those columns are ignored."
    ]


def test_three_edited_cells_are_exactly_three_changes(people: World) -> None:
    rows = _rows(_download(people))
    rows[1][5] = "Research"  # 00042abc Department
    rows[2][10] = "Excel"  # kato0003 Skills
    rows[3][1] = "Sato Ichiro"  # sato0002 Name
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    result = run_check(people, buffer.getvalue())
    changes = {row.key: row.changes for row in result.ordered()}
    assert changes == {
        "00042abc": {"Department": ("", "Research")},
        "kato0003": {"Skills": ("Python||Excel", "Excel")},
        "sato0002": {"Name": ("Sato", "Sato Ichiro")},
    }


def test_importing_the_download_writes_nothing(people: World, run_batch: RunBatch) -> None:
    def state() -> list[tuple[object, ...]]:
        with session(people.engine) as db:
            return [
                (u.login_id, u.name, u.email, u.department, u.custom, u.updated_at)
                for u in db.scalars(select(User).order_by(User.id))
            ]

    before = state()
    batch = run_batch(people, _store(people, _download(people)))
    assert (batch.created, batch.updated, batch.unchanged) == (0, 0, 3)
    assert state() == before


def test_a_manager_downloads_only_their_subtree(people: World) -> None:
    manager = people.manager("sales-lead", "Sales")
    data = export_users(people.engine, people.columns(), scope_path=manager.scope_path)
    assert [row[0] for row in _rows(data.decode("utf-8-sig"))[1:]] == ["kato0003", "sato0002"]
    one = export_users(people.engine, people.columns(), scope_path="", group_path="Sales>>Tokyo")
    assert [row[0] for row in _rows(one.decode("utf-8-sig"))[1:]] == ["kato0003"]


def _write(header: list[str], rows: list[list[str]]) -> str:
    return write_table(header, rows, encoding="utf-8-sig").decode("utf-8-sig")


def test_the_error_download_corrected_uploads_again(people: World) -> None:
    checked = run_check(people, "Login ID,Name,Email\r\nnew00001,New,bad@\r\nsato0002,Sato,\r\n")
    header, rows = error_report(checked)
    assert header[-1] == "Message" and len(rows) == 1
    rows[0][2] = "new@example.com"  # the fix, made in Excel
    again = run_check(people, _write(header, rows))
    assert again.counts == {"new": 1, "update": 0, "unchanged": 0, "error": 0}
    assert [str(n) for n in again.sheet.notices] == [
        "Message is not imported; the values in that column are ignored."
    ]


def test_the_results_download_uploads_again(people: World, run_batch: RunBatch) -> None:
    batch_id = _store(people, "Login ID,Name\r\nnew00001,New\r\nsato0002,Sato Ichiro\r\n")
    run_batch(people, batch_id)
    again = run_check(people, results_file(people.engine, batch_id).decode("utf-8-sig"))
    assert again.counts == {"new": 0, "update": 0, "unchanged": 2, "error": 0}
    assert [str(n) for n in again.sheet.notices] == [
        "Result and Message are not imported; the values in those columns are ignored."
    ]
