"""The API's application: FastAPI under ``/api/v1`` (``server.py`` mounts it beside the
screens), its answers to errors, and its OpenAPI document at ``/api/v1/openapi.json``. The
routes are in ``userbatch.api.batches`` and ``.users``, who may call them in ``.access``."""

from __future__ import annotations

from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.responses import JSONResponse

from userbatch.api import batches, users
from userbatch.api.access import RateLimited, installation
from userbatch.api.limits import LimitBody, Speaking, body_limit
from userbatch.api.problems import error_problem, problem
from userbatch.errors import UserbatchError
from userbatch.i18n import _
from userbatch.settings import get_settings

PREFIX = "/api/v1"


async def _refused(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, UserbatchError)
    return error_problem(exc)


async def _rate_limited(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RateLimited)
    return problem(
        HTTPStatus.TOO_MANY_REQUESTS,
        _("This token made more requests than its limit of {most:,} a minute; try again in "
          "{seconds} seconds.", most=installation().settings.api_requests_per_minute,
          seconds=exc.seconds),
        code="rate_limited", headers={"Retry-After": str(exc.seconds)},
    )  # fmt: skip


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"where": ".".join(map(str, error["loc"])), "message": error["msg"]}
        for error in exc.errors()
    ]
    return problem(
        HTTPStatus.UNPROCESSABLE_ENTITY, _("The request's parameters are not valid."),
        code="invalid_request", errors=errors,
    )  # fmt: skip


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    status = HTTPStatus(exc.status_code)
    return problem(status, str(exc.detail), code=status.name.lower(), headers=exc.headers)


def api_app() -> FastAPI:
    """The API, to be mounted at ``PREFIX``."""
    app = FastAPI(
        title="userbatch",
        version="1",
        summary="Register and update user accounts in bulk from CSV files.",
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
        middleware=[
            Middleware(Speaking),
            Middleware(LimitBody, limit=body_limit(get_settings())),
        ],
        exception_handlers={
            UserbatchError: _refused,
            RateLimited: _rate_limited,
            RequestValidationError: _invalid_request,
            HTTPException: _http_error,
        },
    )
    app.include_router(batches.router)
    app.include_router(users.router)
    return app
