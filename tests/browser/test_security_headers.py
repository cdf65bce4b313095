"""Security headers on every response ``userbatch serve`` gives: the page, Streamlit's own
routes and files, our session route, a page that is not there."""

from __future__ import annotations

import httpx
import pytest

from tests.browser.conftest import Served
from userbatch.ui.headers import SECURITY_HEADERS

pytestmark = pytest.mark.browser


def test_every_response_has_the_security_headers(shared_app: Served) -> None:
    with httpx.Client(base_url=shared_app.url, timeout=60) as client:
        page = client.get("/")
        script = next(part for part in page.text.split('"') if part.endswith(".js"))
        responses = {
            "the page": page,
            "a deep link": client.get("/background"),
            "health": client.get("/_stcore/health"),
            "a script": client.get("/" + script.lstrip("./")),
            "the session route": client.post("/userbatch/session", json={"code": "x"}),
            "nothing there": client.get("/no/such/file.png"),
        }
    assert responses["the page"].status_code == 200
    assert responses["a script"].status_code == 200
    assert responses["the session route"].status_code == 403  # no Origin: refused
    for what, response in responses.items():
        for name, value in SECURITY_HEADERS.items():
            assert response.headers.get(name) == value, (what, name, response.headers)
    policy = SECURITY_HEADERS["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert "connect-src 'self'" in policy  # nothing sent to another site
