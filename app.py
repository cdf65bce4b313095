"""userbatch: page config, the sign-in gate, the sidebar and the navigation."""

import streamlit as st

from userbatch.auth import needs_setup
from userbatch.ui import session, sidebar
from userbatch.ui.context import app_context

st.set_page_config(page_title="userbatch", page_icon=":material/group_add:", layout="wide")
app = app_context()

if needs_setup(app.engine):
    st.navigation([st.Page("pages/first_run.py", title="Set-up")], position="hidden").run()
    st.stop()

operator = session.current_operator(app)
if operator is None:
    st.navigation([st.Page("pages/sign_in.py", title="Sign in")], position="hidden").run()
    st.stop()

sidebar.render(app, operator)
settings_pages = [
    st.Page("pages/input_fields.py", title="Input field settings", icon=":material/tune:"),
    st.Page("pages/email_templates.py", title="E-mail templates", icon=":material/mail:"),
]
if operator.is_admin:
    settings_pages.append(
        st.Page("pages/operators.py", title="Operators", icon=":material/badge:")
    )
st.navigation(
    {
        "Batch operation (CSV)": [
            st.Page(
                "pages/batch_upload.py",
                title="Batch user registration/update",
                icon=":material/upload_file:",
                default=True,
            ),
        ],
        "Users": [
            st.Page("pages/users.py", title="Manage users", icon=":material/group:"),
            st.Page("pages/groups.py", title="Groups", icon=":material/account_tree:"),
        ],
        "Settings": settings_pages,
        "Background processing": [
            st.Page("pages/background.py", title="Background processing", icon=":material/sync:"),
            st.Page("pages/outbox.py", title="Outbox", icon=":material/outbox:"),
        ],
    }
).run()
