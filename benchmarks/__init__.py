"""Reproducible speed and memory measurements of userbatch (see README.md beside this file)."""
