"""Sealing passwords between the check and the worker that hashes them.

A stored batch keeps each password encrypted (Fernet: AES-128-CBC with HMAC-SHA256) so that
no table, log or job argument ever holds it in clear; the worker unseals it only to hash it.
The key is ``USERBATCH_SECRET_KEY``, or a key file the data folder keeps for the zero-set-up
default.
"""

from __future__ import annotations

import os

from cryptography.fernet import Fernet, InvalidToken

from userbatch.errors import ConfigError
from userbatch.i18n import Text
from userbatch.settings import Settings

KEY_FILE = "secret.key"


def installation_key(settings: Settings) -> bytes:
    """The installation's secret key (from the setting, or the data folder's key file)."""
    if settings.secret_key:
        return settings.secret_key.encode()
    path = settings.data_dir / KEY_FILE
    if not path.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as key_file:
            key_file.write(Fernet.generate_key())
    return path.read_bytes().strip()


def _fernet(settings: Settings) -> Fernet:
    try:
        return Fernet(installation_key(settings))
    except ValueError:
        raise ConfigError(Text(
            "USERBATCH_SECRET_KEY: must be 32 url-safe base64-encoded bytes (make one with: "
            "{command})", command="python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'",
        )) from None  # fmt: skip


def seal(settings: Settings, text: str) -> str:
    """``text`` encrypted with the installation's key."""
    return seal_bytes(settings, text.encode()).decode()


def unseal(settings: Settings, token: str) -> str:
    """The text ``seal`` encrypted; raises ``ConfigError`` when the key does not fit."""
    return unseal_bytes(settings, token.encode()).decode()


def seal_bytes(settings: Settings, data: bytes) -> bytes:
    """``data`` (a draft's uploaded file, say) encrypted with the installation's key."""
    return _fernet(settings).encrypt(data)


def unseal_bytes(settings: Settings, token: bytes) -> bytes:
    """The bytes ``seal_bytes`` encrypted; raises ``ConfigError`` when the key does not fit."""
    try:
        return _fernet(settings).decrypt(token)
    except InvalidToken:
        raise ConfigError(Text(
            "USERBATCH_SECRET_KEY: sealed data cannot be unsealed with this key; every "
            "app and worker must use the same key"
        )) from None  # fmt: skip
