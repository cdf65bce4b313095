from userbatch.ui.accept import render
from userbatch.ui.context import app_context

render(app_context())
