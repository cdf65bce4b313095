from userbatch.ui.context import app_context
from userbatch.ui.session import first_run_form

first_run_form(app_context())
