"""Accept-invitation tokens: random, and stored only as their SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets


def new_token() -> tuple[str, str]:
    """A fresh accept-invitation token and the hash that is stored in its place."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    """The hash a token is stored as."""
    return hashlib.sha256(token.encode()).hexdigest()
