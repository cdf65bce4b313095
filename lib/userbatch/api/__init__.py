"""The HTTP API under ``/api/v1/``: the same domain calls as the screens and the command line,
for a program with a bearer token (``userbatch.directory.tokens``) that acts as its operator."""
