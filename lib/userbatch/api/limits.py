"""What guards the API before an endpoint runs: the size of a request's body, read to its
limit and no further; the rate of requests a token may make; and the language of the words
in an answer.

The body's limit is the screen's upload limit (``max_upload_mb``) and a little more for a
multipart request's own lines. A body that says it is longer is refused before a byte of it
is read; one that does not say, or says less than it sends, is refused when the limit is
passed — what was read so far is dropped.

The rate is counted per token in Redis, in windows of a minute
(``api_requests_per_minute``): one count for every server process. When Redis does not
answer, requests are let through (the limit protects the server from a runaway client; it is
no access control), and the endpoints that need Redis say so themselves.
"""

from __future__ import annotations

import functools
import time
from http import HTTPStatus

from redis import Redis
from redis.exceptions import RedisError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from userbatch.api.problems import problem
from userbatch.i18n import _, speaking, supported
from userbatch.settings import Settings

MULTIPART_ALLOWANCE = 64 * 1024  # a multipart body's boundaries and option fields


class BodyTooLarge(Exception):
    """The body passed its limit while it was read."""


def body_limit(settings: Settings) -> int:
    """The most bytes a request's body may have."""
    return settings.max_upload_mb * 2**20 + MULTIPART_ALLOWANCE


class LimitBody:
    """ASGI middleware: a request's body is refused (413) once it passes ``limit`` bytes."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, receive, send)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if started:
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        mb = (self.limit - MULTIPART_ALLOWANCE) // 2**20
        response = problem(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            _("The request is larger than {mb:,} MB, the most a file may have. Split the "
              "file into smaller ones, or save a workbook as CSV.", mb=mb),
            code="too_large", headers={"Connection": "close"},
        )  # fmt: skip
        await response(scope, receive, send)


class Speaking:
    """ASGI middleware: the request's words in the language its ``Accept-Language`` asks for
    first among those userbatch speaks, else English."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        header = dict(scope.get("headers", [])).get(b"accept-language", b"").decode("latin-1")
        with speaking(accepted_language(header)):
            await self.app(scope, receive, send)


def accepted_language(header: str) -> str:
    """The language ``header`` (an ``Accept-Language`` value) prefers most among userbatch's."""
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(header.split(",")):
        tag, _sep, params = item.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        code = supported(tag.strip())
        if code and quality > 0:
            ranked.append((-quality, position, code))
    return min(ranked)[2] if ranked else "en"


@functools.cache
def _redis(url: str) -> Redis:
    return Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)


def seconds_to_wait(settings: Settings, token_id: int) -> int | None:
    """Count a request of token ``token_id``; the seconds until it may make another when it
    has used up its minute, else None."""
    now = time.time()
    window = int(now // 60)
    key = f"userbatch:api-rate:{token_id}:{window}"
    try:
        with _redis(settings.effective_redis_url).pipeline() as pipeline:
            pipeline.incr(key)
            pipeline.expire(key, 120)
            count, _expiry = pipeline.execute()
    except (RedisError, OSError):
        return None
    if int(count) <= settings.api_requests_per_minute:
        return None
    return max(1, int((window + 1) * 60 - now) + 1)
