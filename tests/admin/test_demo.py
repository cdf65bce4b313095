"""Demo data: offered to an empty installation, loaded whole, valid under the CSV's rules."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.check.test_check import run_check
from tests.conftest import World
from userbatch.admin.demo import TEMPLATE_NAME, USERS, has_users, load_demo
from userbatch.admin.users import export_users
from userbatch.db import session
from userbatch.directory.groups import groups_in_scope
from userbatch.errors import UserbatchError
from userbatch.mail.render import render
from userbatch.mail.templates import list_templates
from userbatch.models import Membership, User


def test_an_admin_loads_it_once(world: World) -> None:
    assert not has_users(world.engine)
    assert load_demo(world.engine, world.admin) == USERS
    assert has_users(world.engine)
    with session(world.engine) as db:
        assert db.scalar(select(func.count()).select_from(Membership)) == USERS
        statuses = set(db.scalars(select(User.status)))
    assert statuses == {"valid", "suspended", "invalid"}
    paths = [group.path for group in groups_in_scope(world.engine, "")]
    assert {"Sales>>Osaka", "Engineering>>Platform"} <= set(paths)
    with pytest.raises(UserbatchError, match="only offered to an installation without users"):
        load_demo(world.engine, world.admin)
    with session(world.engine) as db:
        assert db.scalar(select(func.count()).select_from(User)) == USERS


def test_a_manager_cannot_load_it(world: World) -> None:
    with pytest.raises(UserbatchError, match="Only administrators can load demo data"):
        load_demo(world.engine, world.manager("mgr", "Sales"))
    assert not has_users(world.engine)


def test_its_users_download_and_check_unchanged(world: World) -> None:
    load_demo(world.engine, world.admin)
    text = export_users(world.engine, world.columns(), scope_path="").decode("utf-8-sig")
    result = run_check(world, text)
    assert result.counts == {"new": 0, "update": 0, "unchanged": USERS, "error": 0}


def test_its_template_renders(world: World) -> None:
    load_demo(world.engine, world.admin)
    template = next(t for t in list_templates(world.engine) if t.name == TEMPLATE_NAME)
    values = {
        "display_name": "Aoi", "site_name": "Acme", "group": "Support", "login_id": "demo0001",
        "set_password_url": "https://x/accept", "expiration_date": "", "login_url": "https://x",
    }  # fmt: skip
    rendered = render(template.subject, template.body, values)
    assert rendered.subject == "Aoi, your Acme account is ready"
    assert "added to Support on Acme" in rendered.body
