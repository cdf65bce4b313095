"""API tokens: made, listed, revoked; what signs in and what does not."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.conftest import World
from tests.helpers import disable_operator, expire_token
from userbatch.crypto.tokens import token_hash
from userbatch.directory.tokens import (
    PREFIX,
    authenticate,
    create_token,
    list_tokens,
    revoke_token,
)
from userbatch.errors import Invalid, NotFound, SignInError
from userbatch.models.automation import ApiToken


def test_a_token_acts_as_its_operator_and_only_its_hash_is_kept(world: World) -> None:
    manager = world.manager("lead", "Sales")
    new = create_token(world.engine, manager, "  HR nightly  ", expires_days=30)
    assert new.token.startswith(PREFIX) and len(new.token) > 40
    assert new.info.name == "HR nightly" and new.info.state() == "active"
    assert new.info.expires_at is not None
    with world.engine.connect() as connection:
        stored = connection.execute(select(ApiToken.token_hash, ApiToken.prefix)).one()
    assert stored.token_hash == token_hash(new.token) != new.token
    assert new.token.startswith(stored.prefix) and len(stored.prefix) < 12
    operator, token_id = authenticate(world.engine, new.token)
    assert (operator, token_id) == (manager, new.info.id)
    assert list_tokens(world.engine, manager)[0].last_used_at is not None
    assert list_tokens(world.engine, world.admin) == []  # another's tokens are not listed


def test_revoked_expired_and_disabled_do_not_sign_in(world: World) -> None:
    revoked = create_token(world.engine, world.admin, "revoked")
    assert revoke_token(world.engine, world.admin, revoked.info.id).state() == "revoked"
    assert revoke_token(world.engine, world.admin, revoked.info.id).state() == "revoked"
    expired = create_token(world.engine, world.admin, "expired", expires_days=1)
    expire_token(world.engine, expired.info.id)
    assert list_tokens(world.engine, world.admin)[0].state() == "expired"
    leaver = world.manager("leaver", "Support")
    disabled = create_token(world.engine, leaver, "disabled")
    disable_operator(world.engine, leaver.id)
    for token in (revoked.token, expired.token, disabled.token, "ubt_unknown", ""):
        with pytest.raises(SignInError) as refused:
            authenticate(world.engine, token)
        assert "revoked" in str(refused.value)  # one sentence for every cause


def test_only_ones_own_token_can_be_revoked(world: World) -> None:
    mine = create_token(world.engine, world.admin, "mine")
    other = world.manager("other", "Support")
    with pytest.raises(NotFound):
        revoke_token(world.engine, other, mine.info.id)
    assert authenticate(world.engine, mine.token)[0] == world.admin


@pytest.mark.parametrize(("name", "days"), [("", None), ("x" * 101, None), ("ok", 0), ("ok", 4000)])
def test_a_bad_name_or_expiry_is_refused(world: World, name: str, days: int | None) -> None:
    with pytest.raises(Invalid):
        create_token(world.engine, world.admin, name, expires_days=days)
