"""The only part of userbatch that imports streamlit: session state, forms, panels."""
