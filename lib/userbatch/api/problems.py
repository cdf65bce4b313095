"""Errors as RFC 9457 problem details: ``application/problem+json`` with ``type``, ``title``,
``status``, ``detail`` and, beside them, ``code`` (what a program acts on) and any values the
error carries (the guard's number of users affected, say).

Each ``UserbatchError`` class answers with one status: the tree of ``userbatch.errors`` maps
onto HTTP as the command line's exit codes do. Another operator's batch answers 404, not 403
(``hidden``): a manager must not learn that a batch id exists.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from starlette.responses import JSONResponse

from userbatch.errors import (
    ConfigError,
    Conflict,
    DeliveryFailed,
    Invalid,
    NotAllowed,
    NotFound,
    SignInError,
    Unconfirmed,
    UsageError,
    UserbatchError,
)
from userbatch.i18n import Text

PROBLEM_TYPE = "application/problem+json"

# Most specific first: a subclass before its base.
_STATUS: list[tuple[type[UserbatchError], HTTPStatus, str]] = [
    (SignInError, HTTPStatus.UNAUTHORIZED, "unauthorized"),
    (NotFound, HTTPStatus.NOT_FOUND, "not_found"),
    (NotAllowed, HTTPStatus.FORBIDDEN, "forbidden"),
    (Unconfirmed, HTTPStatus.CONFLICT, "unconfirmed"),
    (Conflict, HTTPStatus.CONFLICT, "conflict"),
    (Invalid, HTTPStatus.UNPROCESSABLE_ENTITY, "invalid"),
    (UsageError, HTTPStatus.BAD_REQUEST, "bad_request"),
    (ConfigError, HTTPStatus.SERVICE_UNAVAILABLE, "unavailable"),
    (DeliveryFailed, HTTPStatus.BAD_GATEWAY, "delivery_failed"),
]


def problem(
    status: HTTPStatus, detail: str, *, code: str, headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:  # fmt: skip
    """A problem details response."""
    body = {
        "type": "about:blank", "title": status.phrase, "status": status.value,
        "detail": detail, "code": code,
    } | extra  # fmt: skip
    if status == HTTPStatus.UNAUTHORIZED:
        headers = {"WWW-Authenticate": "Bearer", **(headers or {})}
    return JSONResponse(body, status_code=status.value, headers=headers, media_type=PROBLEM_TYPE)


def error_problem(error: UserbatchError) -> JSONResponse:
    """The problem details of a refusal, its words in the current language."""
    status, code = next(
        ((status, code) for kind, status, code in _STATUS if isinstance(error, kind)),
        (HTTPStatus.UNPROCESSABLE_ENTITY, "refused"),
    )
    extra = {}
    if isinstance(error, Unconfirmed):
        extra = {"affected": error.params["affected"]}
    return problem(status, str(error), code=code, **extra)


def hidden(what: Text, key: str) -> NotFound:
    """The refusal of a thing the caller may not see: as if it did not exist."""
    return NotFound(what=what, key=key)
