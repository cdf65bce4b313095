"""The HTTP side of a lasting sign-in: the route that puts the session cookie in the browser.

A Streamlit page talks over a WebSocket and cannot set a cookie, so signing in hands the new
token over: the page keeps a one-time code (``hand_over``), and a small script in it posts
the code to ``/userbatch/session``, whose answer sets the cookie — ``HttpOnly``,
``SameSite=Strict``, ``Secure`` over HTTPS, path ``/``. The token never reaches the page's
script. A sign-out's code clears the cookie instead; either clears Streamlit's own identity
cookie from a company sign-in. The route refuses requests from other sites.

The route exists where ``server.py`` serves the app (``userbatch serve``); under a plain
``streamlit run app.py`` it does not, and a sign-in lasts for its tab only (``mounted``).
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
import pkgutil
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
# Code -> (the session whose cookie it fetches, or None to clear the cookie; its deadline).
_waiting: dict[str, tuple[NewSession | None, float]] = {}
_fetched: set[str] = set()
_mounted = False


def hand_over(new: NewSession | None) -> str:
    """A one-time code the page posts to the route to receive ``new``'s cookie (None: to
    have the cookie cleared)."""
    code = secrets.token_hex(32)  # hex: it names the page's element, where "__" is refused
    now = time.monotonic()
    with _lock:
        for stale in [key for key, (_, until) in _waiting.items() if until < now]:
            del _waiting[stale]
        _waiting[code] = (new, now + HANDOVER_SECONDS)
    return code


def fetched(code: str) -> bool:
    """True once the browser has come for ``code`` (then forgotten)."""
    with _lock:
        if code in _fetched:
            _fetched.discard(code)
            return True
        found = _waiting.get(code)
    # Expired, or never here (another server process): nothing more to wait for.
    return found is None or found[1] < time.monotonic()


def same_origin(request: Request) -> bool:
    """True for a request the app's own page made: a cross-site one is refused."""
    if request.headers.get("sec-fetch-site", "same-origin") != "same-origin":
        return False
    origin = request.headers.get("origin")
    return origin is not None and urlsplit(origin).netloc == request.headers.get("host")


async def session_route(request: Request) -> Response:
    """POST ``{"code": …}``: set the cookie of the session handed over, or clear it."""
    if not same_origin(request):
        return Response("Cross-site requests are refused.", status_code=403)
    try:
        body: Any = await request.json()
        code = str(body["code"])
    except (ValueError, KeyError, TypeError):
        return Response('Expected {"code": …}.', status_code=400)
    with _lock:
        found = _waiting.pop(code, None)
        if found is not None:
            _fetched.add(code)
    if found is None or found[1] < time.monotonic():
        return Response("This sign-in code is unknown or used.", status_code=404)
    response = Response(status_code=204)
    new = found[0]
    if new is None:
        response.delete_cookie(COOKIE, path="/")
    else:
        secure = "https" in (request.url.scheme, request.headers.get("x-forwarded-proto"))
        response.set_cookie(
            COOKIE, new.token, max_age=new.max_age_seconds, path="/", httponly=True,
            samesite="strict", secure=secure,
        )  # fmt: skip
    # A company identity has done its work once a session is userbatch's; sign-out ends it.
    for name in request.cookies:
        if name.startswith(STREAMLIT_IDENTITY_COOKIES):
            response.delete_cookie(name, path="/")
    return response


def routes() -> list[Route]:
    """The routes ``server.py`` adds to the app; from now on ``mounted()`` is true."""
    global _mounted
    _mounted = True
    return [Route(SESSION_ROUTE, session_route, methods=["POST"])]


def mounted() -> bool:
    """True when this process serves the session route (``server.py``)."""
    return _mounted


# Posts the code once, when the element is first drawn; it reports nothing back (a report
# would rerun the page at a moment of its own), the next rerun asks ``fetched`` instead.
_SEND = """
export default function ({ data }) {
  fetch(data.url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ code: data.code }),
    credentials: "same-origin",
  });
}
"""
_cookie_request = st.components.v2.component("userbatch_session_cookie", js=_SEND)


def request_cookie(code: str, *, key: str) -> None:
    """The invisible element that has the browser post ``code`` to the route."""
    _cookie_request(key=key, data={"url": SESSION_ROUTE, "code": code}, height=0)


def import_screens() -> None:
    """Import every screen's module and what it uses, so that the first page after a start
    of the server does not wait for them (``server.py`` calls this before it serves)."""
    import userbatch.ui

    for module in pkgutil.walk_packages(userbatch.ui.__path__, "userbatch.ui."):
        importlib.import_module(module.name)


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
