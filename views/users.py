from userbatch.ui.context import app_context
from userbatch.ui.session import current_operator
from userbatch.ui.users import render

app = app_context()
operator = current_operator(app)
assert operator is not None  # app.py lets only signed-in operators reach this screen
render(app, operator)
