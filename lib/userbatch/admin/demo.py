"""Demo data for an empty installation: a few groups, 50 users and a second e-mail template.

Loaded only when an administrator asks for it, and only while no user exists, in one
transaction: either all of it is there afterwards or none of it.
"""

from __future__ import annotations

import datetime as dt
import itertools

from sqlalchemy import Engine, exists, insert, select

from userbatch.db import session
from userbatch.directory.auth import OperatorInfo, require_admin
from userbatch.directory.groups import SEPARATOR, ensure_group
from userbatch.errors import Conflict
from userbatch.i18n import ENGLISH, Text
from userbatch.models import EmailTemplate, EmailTemplateVersion, Membership, User, utcnow

USERS = 50
GROUPS = ("Sales>>Tokyo", "Sales>>Osaka", "Support", "Engineering>>Platform")
TEMPLATE_NAME = "Welcome (demo)"
TEMPLATE_SUBJECT = "{{ display_name }}, your {{ site_name }} account is ready"
TEMPLATE_BODY = """Hello {{ display_name }},

You have been added to {{ group }} on {{ site_name }}.

Login ID: {{ login_id }}
Set your password (the link works once): {{ set_password_url }}
Your account is valid until: {{ expiration_date }}

Sign in at {{ login_url }}
"""
# (family name, given name, how e-mail local parts spell them)
_JAPANESE = [
    ("佐藤", "陽菜", "sato.hina"), ("鈴木", "蓮", "suzuki.ren"),
    ("高橋", "結衣", "takahashi.yui"), ("田中", "湊", "tanaka.minato"),
    ("伊藤", "葵", "ito.aoi"), ("渡辺", "大翔", "watanabe.hiroto"),
    ("山本", "凛", "yamamoto.rin"), ("中村", "悠真", "nakamura.yuma"),
    ("小林", "芽依", "kobayashi.mei"), ("加藤", "颯太", "kato.sota"),
    ("吉田", "紬", "yoshida.tsumugi"), ("山田", "樹", "yamada.itsuki"),
    ("佐々木", "咲良", "sasaki.sakura"), ("山口", "陸", "yamaguchi.riku"),
    ("松本", "杏", "matsumoto.an"),
]  # fmt: skip
_ENGLISH = [
    ("Smith", "Olivia"), ("Johnson", "Liam"), ("Brown", "Emma"), ("Taylor", "Noah"),
    ("Wilson", "Ava"), ("Davies", "Oliver"), ("Evans", "Isla"), ("Thomas", "George"),
    ("Roberts", "Mia"), ("Walker", "Jack"),
]  # fmt: skip
_DEPARTMENTS = ("Sales", "Customer support", "Engineering", "Human resources")
_POSITIONS = ("Staff", "Senior staff", "Team lead", "Manager")
_STATUSES = ("valid",) * 8 + ("suspended", "invalid")


def demo_users() -> list[dict[str, object]]:
    """The 50 demo users (users-table values plus ``group``, a path)."""
    # (name, display name of at least 3 characters, e-mail local part)
    people = itertools.cycle(
        [(f"{family} {given}", f"{family}{given}", local) for family, given, local in _JAPANESE]
        + [
            (f"{given} {family}", f"{given} {family[0]}.", f"{given}.{family}".lower())
            for family, given in _ENGLISH
        ]
    )
    groups = itertools.cycle(GROUPS)
    users: list[dict[str, object]] = []
    for number in range(1, USERS + 1):
        name, display_name, local = next(people)
        users.append(
            {
                "login_id": f"demo{number:04d}",
                "name": name,
                "display_name": display_name if number % 3 == 0 else None,
                "email": f"{local}{number}@example.com",
                "department": _DEPARTMENTS[number % len(_DEPARTMENTS)],
                "position": _POSITIONS[number % len(_POSITIONS)],
                "status": _STATUSES[number % len(_STATUSES)],
                "expiration_date": dt.date(2030, 3, 31) if number % 5 == 0 else None,
                "group": next(groups),
            }
        )
    return users


def has_users(engine: Engine) -> bool:
    with session(engine) as db:
        return bool(db.scalar(select(exists().select_from(User))))


def load_demo(engine: Engine, actor: OperatorInfo) -> int:
    """Load the demo groups, users (in one group each) and template; returns the users added.

    Raises a ``UserbatchError`` for a manager, or when users exist already.
    """
    now = utcnow()
    with session(engine) as db, db.begin():
        require_admin(db, actor, Text("load demo data"))
        if db.scalar(select(exists().select_from(User))):
            raise Conflict(Text("Demo data is only offered to an installation without users."))
        groups = {path: ensure_group(db, path.split(SEPARATOR)).id for path in GROUPS}
        users = demo_users()
        ids = db.scalars(
            insert(User).returning(User.id, sort_by_parameter_order=True),
            [
                {key: value for key, value in user.items() if key != "group"}
                | {"email_key": str(user["email"]).lower(), "custom": {}, "created_at": now,
                   "updated_at": now}
                for user in users
            ],
        ).all()  # fmt: skip
        db.execute(
            insert(Membership),
            [
                {"user_id": user_id, "group_id": groups[str(user["group"])]}
                for user_id, user in zip(ids, users, strict=True)
            ],
        )
        if not db.scalar(select(exists().where(EmailTemplate.name == TEMPLATE_NAME))):
            template = EmailTemplate(name=TEMPLATE_NAME)
            db.add(template)
            db.flush()
            db.add(EmailTemplateVersion(
                template_id=template.id, language=ENGLISH, subject=TEMPLATE_SUBJECT,
                body=TEMPLATE_BODY,
            ))  # fmt: skip
    return len(ids)
