"""AppTest of app.py, signed in, on one screen."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, World
from userbatch.directory.auth import OperatorInfo
from userbatch.settings import Settings
from userbatch.ui import keys


@pytest.fixture
def open_screen(world: World, use_env: Callable[[Settings], None]) -> Callable[..., AppTest]:
    """``open_screen("lib/userbatch/ui/x.py", operator=None, **state)``: the app on the screen
    that file draws, signed in as ``operator`` (the admin by default), with ``state`` in its
    session state from the start."""
    use_env(world.settings)

    def start(screen: str, operator: OperatorInfo | None = None, **state: object) -> AppTest:
        app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        app.session_state[keys.SESSION_ID] = world.session_for(operator)
        for key, value in state.items():
            app.session_state[key] = value
        app.run()
        return app.switch_page(screen).run()

    return start
