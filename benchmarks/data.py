"""Synthetic data: a group tree, users with Japanese and English names, CSV files with about
5% bad rows of every kind, and seeded databases (the SQLite one cached between runs).

Everything is a pure function of its numbers, so a user's row in a file matches what the
seeded database holds for that user to the letter (an "unchanged" row really is unchanged).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select, text

from userbatch.db import dispose_engines, open_database, session
from userbatch.directory import auth, user_search
from userbatch.directory.auth import OperatorInfo
from userbatch.directory.groups import SEPARATOR, GroupInfo, add_group, groups_in_scope
from userbatch.models import Membership, Operator, User
from userbatch.settings import Settings

# Bump when the generated users or files change: cached files of another version are unused.
VERSION = "v2"
CACHE = Path(__file__).resolve().parent / ".cache"
ORGANISATION = "Bench Learning"
ADMIN, ADMIN_PASSWORD = "admin", "correct-horse-7"
HEADER = (
    "Login ID,Name,Display name,Email,Password,Department,Position,Status,Expiration date,Belong to"
)
# Users of files that register people: far above any seeded user's number.
NEW_USERS_BASE = 3_000_000
_SEED_CHUNK = 50_000

# (kanji, romaji) for Japanese names; plain strings for English ones.
_FAMILY_JA = [
    ("佐藤", "sato"), ("鈴木", "suzuki"), ("高橋", "takahashi"), ("田中", "tanaka"),
    ("伊藤", "ito"), ("渡辺", "watanabe"), ("山本", "yamamoto"), ("中村", "nakamura"),
    ("小林", "kobayashi"), ("加藤", "kato"), ("吉田", "yoshida"), ("山田", "yamada"),
    ("佐々木", "sasaki"), ("松本", "matsumoto"), ("井上", "inoue"), ("木村", "kimura"),
]  # fmt: skip
_GIVEN_JA = [
    ("太郎", "taro"), ("花子", "hanako"), ("翔", "sho"), ("陽菜", "hina"), ("大輝", "daiki"),
    ("結衣", "yui"), ("蓮", "ren"), ("さくら", "sakura"), ("健一", "kenichi"), ("美咲", "misaki"),
    ("拓海", "takumi"), ("葵", "aoi"),
]  # fmt: skip
_FAMILY_EN = ["Smith", "Johnson", "Brown", "Taylor", "Wilson", "Davies", "Evans", "Walker",
              "Roberts", "Clarke", "O'Neill", "Martin"]  # fmt: skip
_GIVEN_EN = ["Oliver", "Amelia", "George", "Isla", "Harry", "Ava", "Jack", "Mia", "Noah",
             "Grace", "Leo", "Emily"]  # fmt: skip
_DEPARTMENTS = ["営業部", "開発部", "人事部", "Sales", "Engineering", "Customer Support", ""]
_POSITIONS = ["課長", "主任", "部長", "Manager", "Team Lead", "", "", ""]
_TOP_GROUPS = ["営業部", "開発部", "人事部", "Sales", "Engineering", "Support", "Marketing",
               "Finance"]  # fmt: skip
_SITES = ["東京", "大阪", "名古屋", "福岡", "Tokyo", "London", "New York", "Singapore"]
_TEAMS = ["第一課", "第二課", "Team A", "Team B"]


def group_paths() -> list[str]:
    """Every group below the root, parent first (8 departments, 64 sites, 128 teams)."""
    paths = []
    for top in _TOP_GROUPS:
        paths.append(top)
        for number, site in enumerate(_SITES):
            paths.append(f"{top}{SEPARATOR}{site}")
            for team in _TEAMS[(number % 2) * 2 : (number % 2) * 2 + 2]:
                paths.append(f"{top}{SEPARATOR}{site}{SEPARATOR}{team}")
    return paths


_LEAVES = [path for path in group_paths() if path.count(SEPARATOR) == 2]


@dataclass(frozen=True)
class Person:
    """User number ``n`` as the seeded database and every file have them."""

    login_id: str
    name: str
    display_name: str
    email: str
    department: str
    position: str
    status: str  # as the CSV writes it
    expiration_date: str
    groups: tuple[str, ...]

    def cells(self, *, password: str = "") -> list[str]:
        return [
            self.login_id, self.name, self.display_name, self.email, password, self.department,
            self.position, self.status, self.expiration_date, "||".join(sorted(self.groups)),
        ]  # fmt: skip


def person(n: int) -> Person:
    """The synthetic user number ``n`` (two in three with a Japanese name)."""
    if n % 3:
        (family, family_r) = _FAMILY_JA[n % len(_FAMILY_JA)]
        (given, given_r) = _GIVEN_JA[(n // 7) % len(_GIVEN_JA)]
        name, display = f"{family} {given}", (f"{family}さん" if n % 5 == 0 else "")
    else:
        family = _FAMILY_EN[n % len(_FAMILY_EN)]
        given = _GIVEN_EN[(n // 7) % len(_GIVEN_EN)]
        family_r, given_r = family.lower().replace("'", ""), given.lower()
        name, display = f"{given} {family}", (given if n % 5 == 0 else "")
    groups = (_LEAVES[n % len(_LEAVES)],)
    if n % 10 == 0:
        groups = (*groups, _LEAVES[(n // 10) % len(_LEAVES)])
    status = "Suspended" if n % 97 == 0 else "Invalid" if n % 89 == 0 else "Valid"
    return Person(
        login_id=f"{family_r}{n:07d}",
        name=name,
        display_name=display,
        email="" if n % 50 == 0 else f"{given_r}.{family_r}{n}@example.co.jp",
        department=_DEPARTMENTS[n % len(_DEPARTMENTS)],
        position=_POSITIONS[(n // 3) % len(_POSITIONS)],
        status=status,
        expiration_date=(dt.date(2030, 3, 31) + dt.timedelta(days=n % 365)).isoformat()
        if n % 4 == 0
        else "",
        groups=tuple(dict.fromkeys(groups)),
    )


# -- files -----------------------------------------------------------------------------------

# Every kind of bad row the check knows; each spoils one new user's row (the duplicates
# spoil the row before too).
BAD_KINDS = [
    "login_too_short", "login_too_long", "login_characters", "login_missing", "name_missing",
    "name_too_long", "display_name_too_short", "bad_email", "password_policy",
    "password_has_login", "department_too_long", "unknown_status", "impossible_date",
    "unknown_group", "empty_group_name", "duplicate_login_id", "duplicate_email",
    "email_of_another_user", "new_user_with_existing_email",
]  # fmt: skip
# Rows come in runs of 20: the second is bad (5%); the first bad rows are login ID errors,
# which the page benchmark fixes by typing a new login ID into the grid's first data column.
RUN = 20
BAD_SLOT = 1


@dataclass(frozen=True)
class FileMix:
    """What a file holds: which rows name existing users, how many change, bad rows."""

    rows: int
    seeded: int  # users in the database (numbers 0 .. seeded-1)
    new_base: int = NEW_USERS_BASE  # number of the file's first new user
    existing_slots: frozenset[int] = frozenset(range(3, RUN, 2))  # 45% existing users
    change_every: int = 5  # one in this many existing users' rows changes a cell
    bad: bool = True
    existing_offset: int = 0  # which existing users (files of one size differ by it)

    @property
    def key(self) -> str:
        slots = "".join(f"{slot:02d}" for slot in sorted(self.existing_slots))
        return (
            f"{self.rows}-{self.seeded}-{self.new_base}-{slots}-{self.change_every}-"
            f"{int(self.bad)}-{self.existing_offset}"
        )


def new_users_file(rows: int, seeded: int, *, new_base: int) -> FileMix:
    """A file that registers ``rows`` new users and nothing else, all valid."""
    return FileMix(rows, seeded, new_base=new_base, existing_slots=frozenset(), bad=False)


def updates_file(rows: int, seeded: int, *, offset: int) -> FileMix:
    """A file of ``rows`` existing users of which one in ten changes, all valid."""
    return FileMix(
        rows, seeded, existing_slots=frozenset(range(RUN)), change_every=10, bad=False,
        existing_offset=offset,
    )  # fmt: skip


def _with_email(n: int, seeded: int) -> Person:
    """An existing user (near number ``n``) who has an e-mail address."""
    found = person(n % seeded)
    return found if found.email else person((n + 1) % seeded)


def _spoil(kind: str, cells: list[str], previous: list[str], seeded: int, k: int) -> None:
    """Turn a new user's cells into a bad row of ``kind`` (in place)."""
    replacements = {
        "login_too_short": (0, "ab1"),
        "login_too_long": (0, "x" * 31),
        "login_characters": (0, cells[0][:4] + " " + cells[0][4:]),
        "login_missing": (0, ""),
        "name_missing": (1, ""),
        "name_too_long": (1, "名" * 51),
        "display_name_too_short": (2, "ab"),
        "bad_email": (3, cells[0] + "@example"),
        "password_policy": (4, "short"),
        "password_has_login": (4, f"x{cells[0]}9"),
        "department_too_long": (5, "D" * 101),
        "unknown_status": (7, "active"),
        "impossible_date": (8, "2025-02-30"),
        "unknown_group": (9, "Sales>>Tokio"),
        "empty_group_name": (9, "Sales>>"),
        "duplicate_login_id": (0, previous[0]),
        "duplicate_email": (3, previous[3] or _with_email(k, seeded).email),
        "new_user_with_existing_email": (3, _with_email(k * 104729, seeded).email),
    }
    if kind == "email_of_another_user":
        cells[:] = _with_email(k * 7919, seeded).cells()
        cells[3] = _with_email(k * 7919 + 2, seeded).email
        return
    column, value = replacements[kind]
    cells[column] = value


def file_rows(mix: FileMix) -> Iterator[list[str]]:
    """The rows of a file: new users, existing users (unchanged or changed), bad rows."""
    existing_rows = mix.rows * len(mix.existing_slots) // RUN + 1
    # Each existing user at most once: a file naming one twice would have duplicate errors.
    assert existing_rows <= mix.seeded or not mix.existing_slots, "too few users seeded"
    stride = max(1, mix.seeded // existing_rows)
    existing = 0
    previous: list[str] = []
    for k in range(mix.rows):
        slot = k % RUN
        if mix.bad and slot == BAD_SLOT:
            cells = person(mix.new_base + k).cells()
            kind = BAD_KINDS[(k // RUN) % len(BAD_KINDS)]
            _spoil(kind, cells, previous, max(1, mix.seeded), k)
        elif slot in mix.existing_slots and mix.seeded:
            number = (existing * stride + mix.existing_offset) % mix.seeded
            cells = person(number).cells()
            existing += 1
            if existing % mix.change_every == 0:
                cells[6] = "Leader" if cells[6] == "リーダー" else "リーダー"
        else:
            cells = person(mix.new_base + k).cells()
        previous = cells
        yield cells


def csv_bytes(rows: Iterator[list[str]]) -> bytes:
    """A UTF-8 CSV file (CRLF) of the template's header and ``rows``; cells need no quotes
    except Names with a comma, which the generator never makes."""
    return (HEADER + "\r\n" + "".join(",".join(cells) + "\r\n" for cells in rows)).encode()


def cached_file(mix: FileMix) -> Path:
    """The file of ``mix`` in the cache folder (written on first use)."""
    path = CACHE / f"file-{VERSION}-{mix.key}.csv"
    if not path.exists():
        _write_atomically(path, csv_bytes(file_rows(mix)))
    return path


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.part")
    partial.write_bytes(data)
    partial.replace(path)


# -- databases -------------------------------------------------------------------------------


def set_up_organisation(engine: Engine) -> None:
    """First-run set-up (the admin) and the group tree."""
    auth.initialize(
        engine, organisation=ORGANISATION, login=ADMIN, password=ADMIN_PASSWORD,
        min_password_length=8,
    )  # fmt: skip
    for path in group_paths():
        add_group(engine, path)


def seed_users(engine: Engine, count: int) -> None:
    """Users 0 .. count-1 with their memberships, in bulk: Core executemany in chunks, or
    PostgreSQL's COPY (its trigram indexes make an executemany of 1M users take minutes)."""
    group_ids = {group.path: group.id for group in groups_in_scope(engine, "")}
    now = dt.datetime.now(dt.UTC)
    postgres = engine.dialect.name == "postgresql"
    for start in range(0, count, _SEED_CHUNK):
        numbers = range(start, min(count, start + _SEED_CHUNK))
        users: list[dict[str, Any]] = []
        memberships = []
        for n in numbers:
            p = person(n)
            users.append(
                {
                    "id": n + 1, "login_id": p.login_id, "name": p.name,
                    "display_name": p.display_name or None, "email": p.email or None,
                    "email_key": p.email.lower() or None, "password_hash": None,
                    "department": p.department or None, "position": p.position or None,
                    "status": p.status.lower(),
                    "expiration_date": dt.date.fromisoformat(p.expiration_date)
                    if p.expiration_date else None,
                    "custom": {}, "created_at": now, "updated_at": now,
                }
            )  # fmt: skip
            memberships += [{"user_id": n + 1, "group_id": group_ids[g]} for g in p.groups]
        if postgres:
            _copy(engine, users, memberships)
            continue
        with engine.begin() as connection:
            connection.execute(insert(User), users)
            connection.execute(insert(Membership), memberships)
    if postgres:
        with engine.begin() as connection:
            # Explicit ids leave the sequence behind; the app's inserts must not collide.
            connection.execute(
                text("SELECT setval(pg_get_serial_sequence('users', 'id'), :n)"), {"n": count}
            )
            connection.execute(text("ANALYZE"))


def _copy(engine: Engine, users: list[dict[str, Any]], memberships: list[dict[str, Any]]) -> None:
    """PostgreSQL's COPY of these users and memberships, in one transaction."""
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        for table, rows in (("users", users), ("memberships", memberships)):
            names = list(rows[0])
            with cursor.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for row in rows:
                    copy.write_row(["{}" if name == "custom" else row[name] for name in names])
        connection.commit()
    finally:
        connection.close()


def seeded_sqlite(users: int) -> Path:
    """A SQLite database of the organisation with ``users`` users, from the cache (built,
    in seconds, on first use)."""
    path = CACHE / f"seed-{VERSION}-{users}.db"
    if path.exists():
        return path
    folder = CACHE / f"building-{os.getpid()}"
    shutil.rmtree(folder, ignore_errors=True)
    settings = Settings(data_dir=folder)
    engine = open_database(settings)
    set_up_organisation(engine)
    seed_users(engine, users)
    # As a served installation's database is: its worker keeps the search index caught up.
    user_search.catch_up(engine)
    with engine.begin() as connection:
        connection.execute(text("ANALYZE"))
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    dispose_engines()
    (folder / "userbatch.db").replace(path)
    shutil.rmtree(folder, ignore_errors=True)
    return path


def sqlite_copy(users: int, folder: Path) -> Settings:
    """Settings of a fresh data folder holding a copy of the seeded database."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(seeded_sqlite(users), folder / "userbatch.db")
    return Settings(data_dir=folder)


def reading(database: str) -> Settings:
    """Settings that read the SQLite database at ``database`` (a check writes nothing)."""
    return Settings(data_dir=Path(database).parent, database_url=f"sqlite:///{database}")


@dataclass(frozen=True)
class Installation:
    engine: Engine
    admin: OperatorInfo
    root: GroupInfo


def installation(settings: Settings) -> Installation:
    """The set-up database of ``settings``: its engine, the admin and the root group."""
    engine = open_database(settings)
    with session(engine) as db:
        admin_id = db.scalars(select(Operator.id).where(Operator.login == ADMIN)).one()
    admin = auth.get_operator(engine, admin_id)
    assert admin is not None
    return Installation(engine, admin, groups_in_scope(engine, "")[0])
