"""userbatch as ``userbatch serve`` runs it: the screens of ``app.py`` in Streamlit's ASGI app,
with the route that makes a sign-in last (a cookie) and, when it is set up, company sign-in.

``streamlit run server.py`` serves it (``userbatch serve`` does that, beside the embedded
Redis server and a worker); a plain ``streamlit run app.py`` serves the same screens, but a
sign-in there lasts only as long as its browser tab and there is no company sign-in.
"""

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import streamlit as st

from userbatch.settings import get_settings
from userbatch.ui.web import import_screens, routes, streamlit_secrets


@asynccontextmanager
async def _started(_app: st.App) -> AsyncIterator[None]:
    # The screens' modules load while the server already answers.
    threading.Thread(target=import_screens, name="import-screens", daemon=True).start()
    yield


app = st.App(
    "app.py", routes=routes(), secrets=streamlit_secrets(get_settings()), lifespan=_started
)
