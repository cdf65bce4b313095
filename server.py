"""userbatch as ``userbatch serve`` runs it: the screens of ``app.py`` in Streamlit's ASGI app,
with the route that makes a sign-in last (a cookie), the HTTP API under ``/api/v1``, security
headers on every response and, when it is set up, company sign-in.

``streamlit run server.py`` serves it (``userbatch serve`` does that, beside the embedded
Redis server and a worker); a plain ``streamlit run app.py`` serves the same screens, but a
sign-in there lasts only as long as its browser tab and there is no company sign-in.
"""

import gc

import streamlit as st
from starlette.middleware import Middleware
from starlette.routing import Mount

from userbatch.api.app import PREFIX, api_app
from userbatch.settings import get_settings
from userbatch.ui.headers import SecurityHeaders
from userbatch.ui.web import import_screens, routes, streamlit_secrets

# The screens' modules are imported before the server answers, so that the first page after
# a start does not wait for them (and no import races the first page's).
import_screens()
# What the imports made lives as long as the server: kept out of the collector's full
# rounds, which otherwise walk it all while holding the interpreter lock that every page
# and the health check wait for (.streamlit/config.toml turns off Streamlit's own full
# collection after each page run, for the same reason).
gc.freeze()
app = st.App(
    "app.py", routes=[*routes(), Mount(PREFIX, app=api_app())],
    middleware=[Middleware(SecurityHeaders)],
    secrets=streamlit_secrets(get_settings()),
)  # fmt: skip
