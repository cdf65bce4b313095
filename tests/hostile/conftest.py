"""Fixtures the hostile tests share with the page tests."""

from tests.views.conftest import open_screen  # noqa: F401 (the AppTest fixture)
