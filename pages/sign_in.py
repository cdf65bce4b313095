from userbatch.ui.context import app_context
from userbatch.ui.session import sign_in_form

sign_in_form(app_context())
