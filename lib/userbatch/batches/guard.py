"""The mass-change guard: a batch that would suspend or update more than a share of the
operator's users runs only when the operator confirms by typing how many.

The share and the floor are settings (``mass_change_percent``, 10 % by default, and
``mass_change_min_users``, 50): a batch is guarded when it changes more users than both.
Storing a batch enforces the guard, so the screen, the command line and any other caller
meet it alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import Engine, func, select

from userbatch.check.state import SUSPEND, CheckResult
from userbatch.db import session
from userbatch.directory.scope import users_within
from userbatch.errors import Unconfirmed
from userbatch.models import User
from userbatch.settings import Settings


@dataclass(frozen=True)
class MassChange:
    """What a guarded batch would do: the users it suspends and updates, and the limit."""

    suspended: int
    updated: int
    limit: int

    @property
    def affected(self) -> int:
        return self.suspended + self.updated

    @property
    def sentence(self) -> str:
        """ "1,240 users will be suspended." (and how many updated)."""
        parts = [
            f"{count:,} {'user' if count == 1 else 'users'} will be {what}"
            for count, what in ((self.suspended, "suspended"), (self.updated, "updated"))
            if count
        ]
        return " and ".join(parts) + "."


def mass_change(
    engine: Engine, settings: Settings, result: CheckResult, scope_path: str
) -> MassChange | None:
    """The mass change this check would make for an operator of ``scope_path``, or None when
    it stays within the limit."""
    counts = result.counts
    suspended, updated = counts.get(SUSPEND, 0), counts["update"]
    if suspended + updated <= settings.mass_change_min_users:
        return None
    with session(engine) as db:
        users = db.scalar(users_within(select(func.count(User.id)), scope_path=scope_path)) or 0
    limit = max(
        settings.mass_change_min_users, math.floor(users * settings.mass_change_percent / 100)
    )
    if suspended + updated <= limit:
        return None
    return MassChange(suspended, updated, limit)


def require_confirmation(change: MassChange | None, confirmed: int | None) -> None:
    """Raise ``Unconfirmed`` unless the guard lets the batch through: no mass change, or
    ``confirmed`` is its number of users affected."""
    if change is not None and confirmed != change.affected:
        raise Unconfirmed(sentence=change.sentence, affected=change.affected)
