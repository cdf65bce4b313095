from userbatch.ui import batch
from userbatch.ui.context import app_context
from userbatch.ui.session import current_operator
from userbatch.ui.sidebar import current_working_group

app = app_context()
operator = current_operator(app)
assert operator is not None  # app.py lets only signed-in operators reach this screen
batch.render(app, operator, current_working_group())
