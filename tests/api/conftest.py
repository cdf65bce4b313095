"""API tests: ``userbatch serve`` (its zero-set-up default: SQLite, an embedded Redis server
and a worker) answered over real HTTP by httpx. One server serves a whole module."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.browser.conftest import Served, serving
from tests.conftest import World, make_world
from userbatch.directory.auth import OperatorInfo
from userbatch.directory.tokens import create_token
from userbatch.settings import Settings

UPLOAD_MB = 1  # small, so that a body past the limit is quick to send


@dataclass
class Api:
    """The served app, its installation as the test sees it, and a client per token."""

    served: Served
    world: World

    @property
    def url(self) -> str:
        return f"{self.served.url}/api/v1"

    def client(self, operator: OperatorInfo | None = None, **headers: str) -> httpx.Client:
        """A client with a new token of ``operator`` (the admin by default)."""
        token = create_token(self.world.engine, operator or self.world.admin, "test").token
        return self.client_with(token, **headers)

    def client_with(self, token: str | None, **headers: str) -> httpx.Client:
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return httpx.Client(base_url=self.url, headers=headers, timeout=120)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("api") / "data", redis_url=None,
        max_upload_mb=UPLOAD_MB, mass_change_min_users=2, mass_change_percent=10,
    )  # fmt: skip
    with serving(settings) as served:
        yield Api(served, make_world(settings))
