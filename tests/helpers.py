"""Helpers the tests share (fixtures live in conftest.py)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

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


def _serve(settings: Settings, port: int) -> subprocess.Popen[bytes]:
    with open(settings.data_dir / "serve.log", "wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "userbatch", "serve", "--port", str(port)],
            env=settings_env(settings), stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://localhost:{port}/_stcore/health", timeout=2) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def serve_until_healthy(
    settings: Settings, port: int | None = None
) -> tuple[subprocess.Popen[bytes], dict[str, int]]:
    """Run ``userbatch serve`` until the app answers; returns it and runtime.json's pids."""
    port = port or free_port()
    serve = _serve(settings, port)
    state_file = settings.data_dir / "runtime.json"
    try:
        wait_until(lambda: _healthy(port), timeout=90, what="the app to answer")
        wait_until(lambda: state_file.exists(), timeout=10, what="runtime.json")
    except AssertionError:
        serve.kill()
        print((settings.data_dir / "serve.log").read_text())
        raise
    pids = json.loads(state_file.read_text())
    assert set(pids) == {"owner", "redis", "worker", "app"}
    assert pids["owner"] == serve.pid
    return serve, pids


def child_pids(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux /proc)."""
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(entry.name))
    return children
