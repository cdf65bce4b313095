"""The HTTP side of a lasting sign-in: the route that puts the session cookie in the browser.

A Streamlit page talks over a WebSocket and cannot set a cookie, so signing in hands the new
token over: the page keeps a one-time code (``hand_over``), and a small script in it posts
the code to ``/userbatch/session``, whose answer sets the cookie — ``HttpOnly``,
``SameSite=Strict``, ``Secure`` over HTTPS, path ``/``. The token never reaches the page's
script. ``DELETE`` on the same route clears the cookie at sign-out, with Streamlit's own
identity cookie from a company sign-in. The route refuses requests from other sites.

The route exists where ``server.py`` serves the app (``userbatch serve``); under a plain
``streamlit run app.py`` it does not, and a sign-in lasts for its tab only (``mounted``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import streamlit as st
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from userbatch.crypto.vault import installation_key
from userbatch.directory.sessions import NewSession
from userbatch.settings import Settings

COOKIE = "userbatch_session"
SESSION_ROUTE = "/userbatch/session"
# Streamlit's cookies after st.login (the identity and its tokens, possibly in chunks).
STREAMLIT_IDENTITY_COOKIES = "_streamlit_user"
HANDOVER_SECONDS = 120

_lock = threading.Lock()
_waiting: dict[str, tuple[NewSession, float]] = {}
_mounted = False


def hand_over(new: NewSession) -> str:
    """A one-time code the page posts to the route to receive ``new``'s cookie."""
    code = secrets.token_urlsafe(32)
    now = time.monotonic()
    with _lock:
        for stale in [key for key, (_, until) in _waiting.items() if until < now]:
            del _waiting[stale]
        _waiting[code] = (new, now + HANDOVER_SECONDS)
    return code


def _collect(code: str) -> NewSession | None:
    with _lock:
        found = _waiting.pop(code, None)
    if found is None or found[1] < time.monotonic():
        return None
    return found[0]


def same_origin(request: Request) -> bool:
    """True for a request the app's own page made: a cross-site one is refused."""
    if request.headers.get("sec-fetch-site", "same-origin") != "same-origin":
        return False
    origin = request.headers.get("origin")
    return origin is not None and urlsplit(origin).netloc == request.headers.get("host")


async def session_route(request: Request) -> Response:
    """POST ``{"code": …}``: set the cookie of the session handed over; DELETE: clear it."""
    if not same_origin(request):
        return Response("Cross-site requests are refused.", status_code=403)
    response = Response(status_code=204)
    if request.method == "DELETE":
        response.delete_cookie(COOKIE, path="/")
        for name in request.cookies:
            if name.startswith(STREAMLIT_IDENTITY_COOKIES):
                response.delete_cookie(name, path="/")
        return response
    try:
        body: Any = await request.json()
        code = str(body["code"])
    except (ValueError, KeyError, TypeError):
        return Response('Expected {"code": …}.', status_code=400)
    new = _collect(code)
    if new is None:
        return Response("This sign-in code is unknown or used.", status_code=404)
    secure = "https" in (request.url.scheme, request.headers.get("x-forwarded-proto"))
    response.set_cookie(
        COOKIE, new.token, max_age=new.max_age_seconds, path="/", httponly=True,
        samesite="strict", secure=secure,
    )  # fmt: skip
    # The company identity has done its work: from now on the session is userbatch's.
    for name in request.cookies:
        if name.startswith(STREAMLIT_IDENTITY_COOKIES):
            response.delete_cookie(name, path="/")
    return response


def routes() -> list[Route]:
    """The routes ``server.py`` adds to the app; from now on ``mounted()`` is true."""
    global _mounted
    _mounted = True
    return [Route(SESSION_ROUTE, session_route, methods=["POST", "DELETE"])]


def mounted() -> bool:
    """True when this process serves the session route (``server.py``)."""
    return _mounted


_SEND = """
export default function ({ data, setTriggerValue }) {
  fetch(data.url, {
    method: data.method,
    headers: { "Content-Type": "application/json" },
    body: data.method === "POST" ? JSON.stringify({ code: data.code }) : undefined,
    credentials: "same-origin",
  }).then((answer) => setTriggerValue("done", answer.ok))
    .catch(() => setTriggerValue("done", false));
}
"""
_cookie_request = st.components.v2.component("userbatch_session_cookie", js=_SEND)


def request_cookie(*, code: str | None, key: str, on_done: Any) -> None:
    """Ask the browser to fetch the cookie for ``code``, or (None) to clear it."""
    _cookie_request(
        key=key, data={"url": SESSION_ROUTE, "method": "POST" if code else "DELETE", "code": code},
        on_done_change=on_done, height=0,
    )  # fmt: skip


COMPANY_PROVIDER = "company"


def streamlit_secrets(settings: Settings) -> dict[str, Any]:
    """``st.App``'s secrets: with company sign-in set up, the ``[auth]`` section that
    ``st.login("company")`` needs (its redirect is the app's own ``/oauth2callback``)."""
    if not settings.company_sign_in:
        return {}
    # Signs Streamlit's short-lived identity cookie; derived from the installation's key.
    cookie_secret = hmac.new(
        installation_key(settings), b"streamlit identity cookie", hashlib.sha256
    ).hexdigest()
    return {
        "auth": {
            "redirect_uri": settings.base_url.rstrip("/") + "/oauth2callback",
            "cookie_secret": cookie_secret,
            COMPANY_PROVIDER: {
                "client_id": settings.oidc_client_id,
                "client_secret": settings.oidc_client_secret,
                "server_metadata_url": settings.oidc_metadata_url,
                "client_kwargs": {"scope": "openid email profile"},
            },
        }
    }
