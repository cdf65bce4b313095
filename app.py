"""userbatch: page config, the sign-in gate, the sidebar and the navigation."""

import streamlit as st

from userbatch.directory.auth import needs_setup
from userbatch.ui import navigation, session, sidebar
from userbatch.ui.context import app_context

st.set_page_config(page_title="userbatch", page_icon=":material/group_add:", layout="wide")
app = app_context()

if needs_setup(app.engine):
    gate = navigation.gate(lambda: session.first_run_form(app), "Set-up")
    st.navigation(gate, position="hidden").run()
    st.stop()

operator = session.current_operator(app)
if operator is None:
    gate = navigation.gate(lambda: session.sign_in_form(app), "Sign in")
    st.navigation(gate, position="hidden").run()
    st.stop()

sidebar.render(app, operator)
st.navigation(navigation.screens_for(operator)).run()
