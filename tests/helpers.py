"""Helpers the tests share (fixtures live in conftest.py)."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

from userbatch.runtime import child_environment
from userbatch.settings import Settings


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment of a child process that runs with ``settings``."""
    return child_environment(settings)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
