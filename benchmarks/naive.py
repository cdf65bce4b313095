"""Naive baselines: the code one writes first, to compare each figure with.

- The check: a pydantic model (``EmailStr``) validates each row, then one ORM ``SELECT`` per
  row looks its key up.
- Applying: per row, an ORM query for the user, then ``INSERT``s (user, memberships, the
  invitation) or attribute updates, flushed row by row, committed every 1,000 rows.
- Manage users: every user loaded as an ORM object, then sorted and filtered in Python.

They run on a sample of the rows (or users); the figures extrapolate linearly.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, EmailStr, StringConstraints, ValidationError, field_validator
from sqlalchemy import delete, select

from benchmarks import data
from benchmarks.measure import timed
from userbatch.crypto.passwords import password_problems
from userbatch.db import session
from userbatch.directory.fields import STANDARD_LABELS
from userbatch.directory.groups import organisation_name
from userbatch.mail.invitations import invitation_variables
from userbatch.mail.render import render
from userbatch.mail.templates import default_template
from userbatch.models import Group, Membership, OutboxMessage, User
from userbatch.settings import Settings

_KEYS = {english: key for key, (english, _) in STANDARD_LABELS.items()}
_LOGIN_ID = r"^[A-Za-z0-9!-/:-@\[-`]+$"


class NaiveRow(BaseModel):
    login_id: Annotated[str, StringConstraints(min_length=5, max_length=30, pattern=_LOGIN_ID)]
    name: Annotated[str, StringConstraints(min_length=1, max_length=50)]
    display_name: Annotated[str, StringConstraints(max_length=50)] = ""
    email: EmailStr | None = None
    password: str = ""
    department: Annotated[str, StringConstraints(max_length=100)] = ""
    position: Annotated[str, StringConstraints(max_length=100)] = ""
    status: Literal["", "Valid", "Invalid", "Suspended", "有効", "無効", "一時停止"] = ""
    expiration_date: dt.date | None = None
    belong_to: str = ""

    @field_validator("email", "expiration_date", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return value or None

    @field_validator("display_name")
    @classmethod
    def _display_name(cls, value: str) -> str:
        if value and len(value) < 3:
            raise ValueError("must be 3–50 characters")
        return value

    @field_validator("password")
    @classmethod
    def _password(cls, value: str) -> str:
        if value and password_problems(value, min_length=8):
            raise ValueError("breaks the password policy")
        return value


def records(file: str, rows: int) -> list[dict[str, str]]:
    """The first ``rows`` rows of a CSV file, by field key."""
    text = Path(file).read_bytes().decode("utf-8")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    found = []
    for record in reader:
        found.append({_KEYS[label]: cell.strip() for label, cell in record.items()})
        if len(found) == rows:
            break
    return found


def check(database: str, file: str, rows: int) -> dict[str, Any]:
    """Check the first ``rows`` rows of ``file`` the naive way, reading included; returns the
    seconds, the rows and the statuses counted."""
    engine = data.installation(data.reading(database)).engine
    with session(engine) as db:
        groups = set(db.scalars(select(Group.path)))

    def check() -> dict[str, int]:
        counts = {"new": 0, "update": 0, "unchanged": 0, "error": 0}
        seen: set[str] = set()
        with session(engine) as db:
            for record in records(file, rows):
                try:
                    row = NaiveRow.model_validate(record)
                except ValidationError:
                    counts["error"] += 1
                    continue
                paths = [path for path in row.belong_to.split("||") if path]
                if row.login_id in seen or any(path not in groups for path in paths):
                    counts["error"] += 1
                    continue
                seen.add(row.login_id)
                user = db.scalars(select(User).where(User.login_id == row.login_id)).first()
                if user is None:
                    counts["new"] += 1
                elif (user.name, user.department or "", user.position or "") != (
                    row.name, row.department, row.position,
                ):  # fmt: skip
                    counts["update"] += 1
                else:
                    counts["unchanged"] += 1
        return counts

    seconds, counts = timed(check)
    return {"seconds": seconds, "rows": sum(counts.values()), "counts": counts}


def apply(settings: Settings, file: str, rows: int, *, invite: bool) -> dict[str, Any]:
    """Apply the first ``rows`` rows of a valid file the naive way, row by row; returns the
    seconds and the rows."""
    engine = data.installation(settings).engine
    template = default_template(engine) if invite else None
    site = organisation_name(engine) or ""
    send_at = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)

    def run() -> int:
        with session(engine) as db:
            for number, record in enumerate(records(file, rows), start=1):
                paths = [path for path in record["belong_to"].split("||") if path]
                fields = _fields(record)
                user = db.scalars(select(User).where(User.login_id == fields["login_id"])).first()
                if user is None:
                    user = User(**fields, custom={})
                    db.add(user)
                    db.flush()
                    _join(db, user.id, paths)
                    if template and user.email and user.status == "valid":
                        variables = invitation_variables(
                            fields, paths, site_name=site, base_url=settings.base_url
                        )
                        rendered = render(template.subject, template.body, variables)
                        db.add(
                            OutboxMessage(
                                user_id=user.id, recipient=user.email, send_at=send_at,
                                subject=rendered.subject, body=rendered.body,
                            )
                        )  # fmt: skip
                else:
                    for name, value in fields.items():
                        if getattr(user, name) != value:
                            setattr(user, name, value)
                    current = db.scalars(
                        select(Group.path)
                        .join(Membership, Membership.group_id == Group.id)
                        .where(Membership.user_id == user.id)
                    )
                    if paths and set(paths) != set(current):
                        db.execute(delete(Membership).where(Membership.user_id == user.id))
                        _join(db, user.id, paths)
                    db.flush()
                if number % 1000 == 0:
                    db.commit()
            db.commit()
            return number

    seconds, applied = timed(run)
    return {"seconds": seconds, "rows": applied}


def _fields(record: dict[str, str]) -> dict[str, Any]:
    date = record["expiration_date"]
    return {
        "login_id": record["login_id"], "name": record["name"],
        "display_name": record["display_name"] or None, "email": record["email"] or None,
        "email_key": record["email"].lower() or None,
        "department": record["department"] or None, "position": record["position"] or None,
        "status": (record["status"] or "valid").lower(),
        "expiration_date": dt.date.fromisoformat(date) if date else None,
    }  # fmt: skip


def _join(db: Any, user_id: int, paths: list[str]) -> None:
    for path in paths:
        group_id = db.scalar(select(Group.id).where(Group.path == path))
        db.add(Membership(user_id=user_id, group_id=group_id))


def users(database: str, users: int, text: str) -> dict[str, Any]:
    """The first page, and a search for ``text``, over ``users`` users loaded as ORM
    objects; returns the seconds of each."""
    engine = data.installation(data.reading(database)).engine

    def page(matches: Any) -> int:
        with session(engine) as db:
            everyone = db.scalars(select(User).limit(users)).all()
            found = sorted((u for u in everyone if matches(u)), key=lambda u: u.login_id)
            for user in found[:50]:
                list(db.scalars(select(Membership).where(Membership.user_id == user.id)))
            return len(found)

    first, _ = timed(lambda: page(lambda user: True))
    needle = text.lower()
    search, _ = timed(
        lambda: page(
            lambda u: (
                needle in u.login_id.lower()
                or needle in u.name.lower()
                or needle in (u.email_key or "")
            )
        )
    )
    return {"first_page_s": first, "search_s": search, "users": users}
