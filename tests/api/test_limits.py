"""The API's guards on their own: the rate per token (against the test Redis) and the
language an ``Accept-Language`` header asks for."""

from __future__ import annotations

from collections.abc import Callable

from redis import Redis

from userbatch.api.limits import accepted_language, seconds_to_wait
from userbatch.settings import Settings


def test_a_token_past_its_minute_waits_and_another_does_not(
    make_settings: Callable[..., Settings], clean_redis: Redis
) -> None:
    settings = make_settings(api_requests_per_minute=3)
    assert [seconds_to_wait(settings, 7) for _ in range(3)] == [None, None, None]
    wait = seconds_to_wait(settings, 7)
    assert wait is not None and 1 <= wait <= 61
    assert seconds_to_wait(settings, 8) is None  # each token counts alone


def test_without_redis_requests_go_through(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(redis_url="redis://127.0.0.1:1/0", api_requests_per_minute=1)
    assert [seconds_to_wait(settings, 1) for _ in range(3)] == [None, None, None]


def test_the_language_asked_for_first_that_userbatch_speaks() -> None:
    assert accepted_language("ja-JP,ja;q=0.9,en;q=0.8") == "ja"
    assert accepted_language("fr-FR,fr;q=0.9,ja;q=0.8,en;q=0.5") == "ja"
    assert accepted_language("en;q=0.9,ja;q=0.95") == "ja"
    assert accepted_language("ja;q=0,en") == "en"
    assert accepted_language("de") == "en"
    assert accepted_language("") == "en"
    assert accepted_language("ja;q=abc,en") == "en"
