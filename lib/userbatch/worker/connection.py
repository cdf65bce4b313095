"""The one Redis connection and queue every userbatch job goes through."""

from __future__ import annotations

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from rq import Queue

from userbatch.errors import ConfigError
from userbatch.i18n import Text
from userbatch.settings import Settings

QUEUE_NAME = "userbatch"


def redis_connection(settings: Settings) -> Redis:
    """A client of the configured Redis; raises ``ConfigError`` when it does not answer."""
    redis = Redis.from_url(settings.effective_redis_url, socket_timeout=30)
    try:
        redis.ping()
    except (RedisConnectionError, OSError) as exc:
        if settings.embedded_redis:
            raise ConfigError(Text(
                "the embedded Redis server is not running: start userbatch with "
                "'userbatch serve', or set REDIS_URL"
            )) from None  # fmt: skip
        raise ConfigError(
            Text("REDIS_URL: cannot reach {url}: {reason}", url=settings.redis_url, reason=exc)
        ) from None
    return redis


def get_queue(settings: Settings) -> Queue:
    """The queue every userbatch job goes to."""
    return Queue(QUEUE_NAME, connection=redis_connection(settings))
