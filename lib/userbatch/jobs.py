"""RQ glue only: the connection, the queue, the worker loop and job entry points.

Job functions are plain functions that take ids and read everything else from the database;
they build their settings from the environment the worker was started with.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from rq import Queue, Worker

from userbatch.db import current_revision, open_database
from userbatch.errors import ConfigError
from userbatch.settings import Settings, get_settings

QUEUE_NAME = "userbatch"


def redis_connection(settings: Settings) -> Redis:
    """A client of the configured Redis; raises ``ConfigError`` when it does not answer."""
    redis = Redis.from_url(settings.effective_redis_url, socket_timeout=30)
    try:
        redis.ping()
    except (RedisConnectionError, OSError) as exc:
        if settings.embedded_redis:
            raise ConfigError(
                "the embedded Redis server is not running: start userbatch with "
                "'userbatch serve', or set REDIS_URL"
            ) from None
        raise ConfigError(f"REDIS_URL: cannot reach {settings.redis_url}: {exc}") from None
    return redis


def get_queue(settings: Settings) -> Queue:
    """The queue every userbatch job goes to."""
    return Queue(QUEUE_NAME, connection=redis_connection(settings))


def run_worker(settings: Settings, *, burst: bool = False) -> None:
    """Work on the queue, with the scheduler, until stopped (or, with ``burst``, until empty)."""
    open_database(settings)
    redis = redis_connection(settings)
    name = f"userbatch-{socket.gethostname()}-{os.getpid()}"
    worker = Worker([Queue(QUEUE_NAME, connection=redis)], connection=redis, name=name)
    worker.work(burst=burst, with_scheduler=True)


def worker_report() -> dict[str, Any]:
    """Job: what a worker sees (its pid and the database's schema revision).

    The app and the tests use it to prove a worker serves the same database they do.
    """
    settings = get_settings()
    engine = open_database(settings)
    return {"pid": os.getpid(), "database_revision": current_revision(engine)}
