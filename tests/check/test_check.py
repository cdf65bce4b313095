"""The check: every rule of SPEC §2 and §4, as tables, on each database."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.conftest import World
from userbatch.check.report import to_document
from userbatch.check.run import check_rows, check_sheet
from userbatch.check.state import CheckedSheet, CheckOptions, CheckResult
from userbatch.db import session
from userbatch.directory.auth import OperatorInfo
from userbatch.errors import CsvFileError
from userbatch.files.reader import read_sheet
from userbatch.models import Batch, Membership, OutboxMessage, User


def run_check(
    world: World,
    text: str,
    *,
    operator: OperatorInfo | None = None,
    working: str = "",
    **options: Any,
) -> CheckedSheet:
    operator = operator or world.admin
    columns = world.columns()
    sheet = read_sheet(
        text.encode(),
        file_name="users.csv",
        columns=columns,
        max_bytes=2**24,
        max_rows=10**6,
        workbook_mb=512,
    )
    checked = CheckOptions(
        columns=columns, working_group=world.groups[working or operator.scope_path],
        scope_path=operator.scope_path, **options,
    )  # fmt: skip
    return check_sheet(world.engine, sheet, checked)


def outcome(result: CheckResult) -> list[tuple[str, list[str]]]:
    return [(row.status, [issue.code for issue in row.issues]) for row in result.ordered()]


H = "Login ID,Name,Display name,Email,Password,Department,Status,Expiration date,Belong to\n"

CASES: list[tuple[str, str, list[tuple[str, list[str]]]]] = [
    ("a new user", "tanaka01,Tanaka,,t@example.com,,,,,", [("new", [])]),
    ("unchanged", "sato0002,Sato,,sato@example.com,,Sales,,,Sales", [("unchanged", [])]),
    ("blank keeps status, password, groups", "sato0002,Sato,,sato@example.com,,Sales,,,", [("unchanged", [])]),
    ("an update", "sato0002,Sato,,sato@example.com,,Support,,,", [("update", [])]),
    ("login ID too short", "ab1,A,,,,,,,", [("error", ["too_short"])]),
    ("login ID too long", "a" * 31 + ",A,,,,,,,", [("error", ["too_long"])]),
    ("login ID characters", "tana ka01,A,,,,,,,", [("error", ["invalid_characters"])]),
    ("login ID required", ",A,,,,,,,", [("error", ["required"])]),
    ("full-width login ID", "ｔａｎａｋａ01,A,,,,,,,", [("new", ["full_width_converted"])]),
    ("name required", "tanaka01,,,,,,,,", [("error", ["required"])]),
    ("name too long", "tanaka01," + "n" * 51 + ",,,,,,,", [("error", ["too_long"])]),
    ("display name too short", "tanaka01,A,ab,,,,,,", [("error", ["too_short"])]),
    ("bad e-mail", "tanaka01,A,,t@,,,,,", [("error", ["invalid_email"])]),
    ("odd but valid e-mail", "tanaka01,A,,t@b.c,,,,,", [("new", [])]),
    ("password policy", "tanaka01,A,,,short,,,,", [("error", ["password_policy", "password_policy"])]),
    ("password contains login", "tanaka01,A,,,xtanaka01x9,,,,", [("error", ["password_policy"])]),
    ("argon2 hash taken as is", "tanaka01,A,,,\"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo\",,,,", [("new", [])]),
    ("department too long", "tanaka01,A,,,," + "d" * 101 + ",,,", [("error", ["too_long"])]),
    ("status in Japanese", "tanaka01,A,,,,,一時停止,,", [("new", [])]),
    ("status unknown", "tanaka01,A,,,,,active,,", [("error", ["invalid_status"])]),
    ("date with slashes", "tanaka01,A,,,,,,2025/3/31,", [("new", [])]),
    ("date impossible", "tanaka01,A,,,,,,2025-02-30,", [("error", ["invalid_date"])]),
    ("unknown group", "tanaka01,A,,,,,,,Sales>>Tokio", [("error", ["unknown_group"])]),
    ("bad group path", "tanaka01,A,,,,,,,Sales>>", [("error", ["invalid_group_path", "unknown_group"])]),
    ("two groups", "tanaka01,A,,,,,,,Sales>>Tokyo||Support", [("new", [])]),
    (
        "duplicate login IDs",
        "tanaka01,A,,,,,,,\ntanaka01,B,,,,,,,",
        [("error", ["duplicate_login_id"]), ("error", ["duplicate_login_id"])],
    ),
    (
        "duplicate e-mails ignore case",
        "tanaka01,A,,x@example.com,,,,,\nsuzuki01,B,,X@Example.com,,,,,",
        [("error", ["duplicate_email"]), ("error", ["duplicate_email"])],
    ),
    ("e-mail of another user", "kato0003,Kato,,sato@example.com,,,,,", [("error", ["email_taken"])]),
    ("new row with an existing e-mail", "tanaka01,T,,sato@example.com,,,,,", [("error", ["email_exists"])]),
    ("several problems in one row", "ab,,,t@,,,nope,,", [("error", ["too_short", "required", "invalid_email", "invalid_status"])]),
]  # fmt: skip


@pytest.mark.parametrize(("rows", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rules(people: World, rows: str, expected: list[tuple[str, list[str]]]) -> None:
    assert outcome(run_check(people, H + rows + "\n")) == expected


def test_messages_name_the_rule_and_what_to_type(people: World) -> None:
    result = run_check(people, H + "ab1,A,,,,,,,\ntanaka01,T,,sato@example.com,,,,,Sales>>Tokio\n")
    messages = [str(issue.message) for row in result.ordered() for issue in row.issues]
    assert messages == [
        "Login ID must be 5–30 characters; 'ab1' has 3.",
        "A user with the e-mail 'sato@example.com' already exists, with login ID 'sato0002'. "
        "Login IDs cannot be changed by CSV: to update that user, use login ID 'sato0002'; "
        "to change their login ID, use Edit user.",
        "The group 'Sales>>Tokio' does not exist. Did you mean 'Sales>>Tokyo'? Create it under "
        "Groups, or fix the path (parent first, like Sales>>Tokyo).",
    ]


def test_duplicates_name_the_other_rows(people: World) -> None:
    result = run_check(people, H + "tanaka01,A,,,,,,,\nsuzuki01,B,,,,,,,\ntanaka01,C,,,,,,,\n" * 1)
    assert str(result.rows[2].issues[0].message) == (
        "Login ID 'tanaka01' appears more than once in the file (also row 4)."
    )


def test_a_page_of_rows_is_made_at_once_as_each_row_alone(people: World) -> None:
    text = H + "tanaka01,T,,,,,,,\nab1,,,,,,,,\nsato0002,Sato,,sato@example.com,,Support,,,\n"
    result = run_check(people, text)
    assert result.rows_of([4, 2, 3]) == [result.rows[4], result.rows[2], result.rows[3]]
    assert result.rows_of([]) == []


def test_a_value_on_many_rows_names_ten_of_the_others(people: World) -> None:
    result = run_check(people, H + "".join(f"tanaka01,N{n},,,,,,,\n" for n in range(5000)))
    assert result.counts["error"] == 5000
    assert str(result.rows[2].issues[0].message) == (
        "Login ID 'tanaka01' appears more than once in the file "
        "(also rows 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 and 4,989 more)."
    )
    assert str(result.rows[5].issues[0].message).endswith(
        "(also rows 2, 3, 4, 6, 7, 8, 9, 10, 11, 12 and 4,989 more)."
    )


def test_updates_show_old_and_new(people: World) -> None:
    result = run_check(
        people, H + "sato0002,Sato S,,sato@example.com,new-pass-99,,Invalid,,Support\n"
    )
    changes = {
        "Name": ("Sato", "Sato S"),
        "Password": ("(none)", "(new password)"),
        "Status": ("Valid", "Invalid"),
        "Belong to": ("Sales", "Support"),
    }
    assert result.rows[2].changes == changes  # a blank Department keeps the department
    cleared = run_check(
        people, H + "sato0002,Sato S,,sato@example.com,new-pass-99,,Invalid,,Support\n",
        blank="clear",
    )  # fmt: skip
    assert cleared.rows[2].changes == changes | {"Department": ("Sales", "")}


def test_a_manager_cannot_reach_outside_the_subtree(people: World) -> None:
    manager = people.manager("sales-lead", "Sales")
    result = run_check(
        people,
        H + "kato0003,Kato,,kato@example.com,,,,,\n"  # a user in Support
        "tanaka01,T,,,,,,,Support\n"  # a group outside
        "suzuki01,S,,,,,,,Sales>>Tokyo\n",  # inside: fine
        operator=manager,
    )
    assert outcome(result) == [
        ("error", ["out_of_scope"]),
        ("error", ["out_of_scope"]),
        ("new", []),
    ]


def test_without_login_ids_email_is_the_key(people: World) -> None:
    with session(people.engine) as db, db.begin():
        from userbatch.models import FieldSetting

        db.get_one(FieldSetting, "login_id").in_use = False
    result = run_check(
        people,
        "Name,Email\nSato,sato@example.com\nNew,new@example.com\nNo mail,\n",
    )
    assert outcome(result) == [("unchanged", []), ("new", []), ("error", ["required"])]
    assert "login IDs are not in use" in str(result.rows[4].issues[0].message)


def test_the_check_writes_nothing(people: World) -> None:
    def counts() -> list[Any]:
        with session(people.engine) as db:
            return [
                db.scalar(select(func.count()).select_from(table))
                for table in (User, Membership, OutboxMessage, Batch)
            ]

    before = counts()
    run_check(people, H + "tanaka01,T,,t@example.com,pass-word-1,,,,Sales\nsato0002,X,,,,,,,\n")
    assert counts() == before


def test_the_json_document(people: World) -> None:
    document = to_document(
        run_check(
            people,
            H + "tanaka01,T,,,,,,,\nsato0002,Sato,,sato@example.com,,Support,,,\nab,X,,,,,,,\n",
        )
    )
    assert document["file"] == {
        "name": "users.csv",
        "encoding": "utf-8",
        "delimiter": ",",
        "rows": 3,
    }
    assert document["counts"] == {"new": 1, "update": 1, "unchanged": 0, "error": 1}
    assert document["rows"][1] == {
        "row": 3, "status": "update", "key": "sato0002", "issues": [],
        "changes": {"Department": ["Sales", "Support"]},
    }  # fmt: skip
    assert document["rows"][2]["issues"] == [
        {"column": "Login ID", "level": "error", "code": "too_short",
         "message": "Login ID must be 5–30 characters; 'ab' has 2."}
    ]  # fmt: skip


def test_stored_columns_are_checked_as_a_sheet_of_them(people: World) -> None:
    # Applying re-checks a batch's stored rows: the same check, with no file behind it.
    result = run_check(
        people,
        H + "tanaka01,T,,,,,,,\nsato0002,Sato,,sato@example.com,,Support,,,\nab,X,,,,,,,\n"
        "kato0003,Kato,,kato@example.com,,,,,Nowhere\n",
    )
    stored = check_rows(people.engine, result.sheet.cells.copy(), result.options)
    assert stored.ordered() == result.ordered()
    assert [row.status for row in stored.ordered()] == ["new", "update", "error", "error"]
    with pytest.raises(KeyError):
        check_rows(people.engine, result.sheet.cells.assign(nickname=""), result.options)


@pytest.fixture
def custom(people: World) -> World:
    from userbatch.models import FieldSetting

    with session(people.engine) as db, db.begin():
        db.add_all(
            [
                FieldSetting(
                    key="grade",
                    custom=True,
                    label="Grade",
                    type="pulldown",
                    options=["A", "B"],
                    required=True,
                    in_use=True,
                    position=20,
                ),
                FieldSetting(
                    key="skills",
                    custom=True,
                    label="Skills",
                    type="checkbox",
                    options=["Excel", "Python"],
                    in_use=True,
                    position=21,
                ),
                FieldSetting(
                    key="note", custom=True, label="Note", type="text", in_use=True, position=22
                ),
            ]
        )
    return people


CUSTOM_CASES = [
    ("valid", "tanaka01,T,A,Excel||Python,hello", [("new", [])]),
    ("required custom field", "tanaka01,T,,,", [("error", ["required"])]),
    ("not an option", "tanaka01,T,C,,", [("error", ["invalid_option"])]),
    ("checkbox with an unknown option", "tanaka01,T,A,Excel||Go,", [("error", ["invalid_option"])]),
    ("text too long", "tanaka01,T,A,," + "x" * 1001, [("error", ["too_long"])]),
]


@pytest.mark.parametrize(
    ("rows", "expected"), [c[1:] for c in CUSTOM_CASES], ids=[c[0] for c in CUSTOM_CASES]
)
def test_custom_field_rules(
    custom: World, rows: str, expected: list[tuple[str, list[str]]]
) -> None:
    result = run_check(custom, "Login ID,Name,Grade,Skills,Note\n" + rows + "\n")
    assert outcome(result) == expected


def test_a_custom_field_message(custom: World) -> None:
    result = run_check(custom, "Login ID,Name,Grade,Skills\ntanaka01,T,C,Excel||Go\n")
    assert [str(issue.message) for issue in result.rows[2].issues] == [
        "Grade must be one of: A, B; 'C' is not.",
        "Skills: 'Go' is not among the options Excel, Python (join several with ||).",
    ]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=600) | st.text(max_size=300).map(lambda t: (H + t).encode()))
def test_no_input_makes_the_check_raise_anything_else(people: World, data: bytes) -> None:
    columns = people.columns()
    try:
        sheet = read_sheet(
            data,
            file_name="x.csv",
            columns=columns,
            max_bytes=2**20,
            max_rows=1000,
            workbook_mb=512,
        )
    except CsvFileError:
        return
    options = CheckOptions(columns=columns, working_group=people.groups[""])
    result = check_sheet(people.engine, sheet, options)
    assert sum(result.counts.values()) == sheet.rows


SUGGESTIONS = [
    ("a status with a typo", "Status", "Vaild", "invalid_status", "Valid"),
    ("another status typo", "Status", "Suspnded", "invalid_status", "Suspended"),
    ("a status far from any", "Status", "active", "invalid_status", None),
    ("a date with dots", "Expiration date", "2027.03.31", "invalid_date", "2027-03-31"),
    ("a date without separators", "Expiration date", "20270331", "invalid_date", "2027-03-31"),
    ("a date in Japanese", "Expiration date", "2027年3月31日", "invalid_date", "2027-03-31"),
    ("a day that does not exist", "Expiration date", "2027.02.30", "invalid_date", None),
    ("an Excel serial date", "Expiration date", "46477", "excel_serial_date", "2027-03-31"),
    ("a group with a typo", "Belong to", "Sales>>Tokio", "unknown_group", "Sales>>Tokyo"),
    (
        "a typo among several groups", "Belong to", "Support||Sales>>Tokio", "unknown_group",
        "Support||Sales>>Tokyo",
    ),
    ("a group far from any", "Belong to", "Marketing>>Paris", "unknown_group", None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("column", "cell", "code", "suggestion"),
    [case[1:] for case in SUGGESTIONS], ids=[case[0] for case in SUGGESTIONS],
)  # fmt: skip
def test_a_suggestion_is_the_cell_that_fixes_it(
    world: World, column: str, cell: str, code: str, suggestion: str | None
) -> None:
    result = run_check(world, f"Login ID,Name,{column}\ntanaka01,Tanaka,{cell}\n")
    [issue] = result.rows[2].issues
    assert (issue.code, issue.suggestion) == (code, suggestion)
    if suggestion is None:
        assert "Did you mean" not in str(issue.message) and "suggestion" not in issue.as_dict()
        return
    assert issue.as_dict()["suggestion"] == suggestion
    # The suggestion, typed in, is good.
    fixed = run_check(world, f"Login ID,Name,{column}\ntanaka01,Tanaka,{suggestion}\n")
    assert fixed.rows[2].issues == []


def test_a_serial_date_says_what_excel_did(world: World) -> None:
    result = run_check(world, "Login ID,Name,Expiration date\ntanaka01,Tanaka,46477\n")
    [issue] = result.rows[2].issues
    assert "46477 is 2027-03-31" in str(issue.message)
    assert "format the column" in str(issue.message)


def test_a_custom_option_with_a_typo_is_suggested(custom: World) -> None:
    result = run_check(custom, "Login ID,Name,Grade,Skills\ntanaka01,T,a,Excel||Pyhton\n")
    assert [(issue.code, issue.suggestion) for issue in result.rows[2].issues] == [
        ("invalid_option", "A"),
        ("invalid_option", "Excel||Python"),
    ]


@pytest.mark.parametrize("cell", ["1.23E+11", "4.5e+9"])
def test_scientific_notation_is_named_as_excels_damage(world: World, cell: str) -> None:
    result = run_check(world, f"Login ID,Name,Department\ntanaka01,Tanaka,{cell}\n")
    [issue] = result.rows[2].issues
    assert (issue.code, issue.level) == ("excel_scientific_notation", "warning")
    assert "scientific notation" in str(issue.message) and "as Text" in str(issue.message)
