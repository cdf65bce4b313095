"""Who calls the API: the operator a request's bearer token acts as, counted against the
token's rate limit; and the installation (settings, database) the calls work on."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine

from userbatch.api.limits import seconds_to_wait
from userbatch.db import open_database
from userbatch.directory.auth import OperatorInfo
from userbatch.directory.tokens import REFUSED, authenticate
from userbatch.errors import SignInError
from userbatch.i18n import Text
from userbatch.settings import Settings, get_settings


@dataclass(frozen=True)
class Installation:
    settings: Settings
    engine: Engine


@functools.cache
def installation() -> Installation:
    """The settings and the migrated database of this server process."""
    settings = get_settings()
    return Installation(settings, open_database(settings))


class RateLimited(Exception):
    """The token has used up its requests of this minute."""

    def __init__(self, seconds: int) -> None:
        super().__init__(seconds)
        self.seconds = seconds


_bearer = HTTPBearer(auto_error=False, description="An API token: `userbatch tokens create`.")


def caller(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> OperatorInfo:
    """The operator the request's bearer token acts as, as the database says now."""
    if credentials is None:
        raise SignInError(Text(REFUSED))
    here = installation()
    operator, token_id = authenticate(here.engine, credentials.credentials)
    wait = seconds_to_wait(here.settings, token_id)
    if wait is not None:
        raise RateLimited(wait)
    return operator


Caller = Annotated[OperatorInfo, Depends(caller)]
