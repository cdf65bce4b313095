"""What a screen that is not built yet shows."""

import streamlit as st


def not_available() -> None:
    st.info("Not available yet.")
