from userbatch.ui.context import app_context
from userbatch.ui.input_fields import render
from userbatch.ui.session import current_operator

app = app_context()
operator = current_operator(app)
assert operator is not None  # app.py lets only signed-in operators reach this screen
render(app, operator)
