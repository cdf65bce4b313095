"""Configuration from the environment, validated once at start.

``Settings`` is plain data; nothing is read at import time. ``get_settings()`` builds it from
the environment and turns a validation failure into one ``ConfigError`` line that names the
variable, so the app, the worker and the CLI all stop with the same clear message, in the
reader's language.

Over 300 lines: every setting with its description (the README's table) is one model, and its
messages belong with the rules that raise them.
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from userbatch.errors import ConfigError
from userbatch.i18n import JAPANESE, N_, Text, Words, language

ENV_PREFIX = "USERBATCH_"
# A Unix socket path longer than this does not fit in sockaddr_un on every platform.
_MAX_SOCKET_PATH = 100


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "userbatch"


class Settings(BaseSettings):
    """Every setting of userbatch; the README's configuration table lists each one."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    data_dir: Annotated[
        Path, Field(description="Folder of the SQLite file and the embedded Redis server's data.")
    ] = Field(default_factory=_default_data_dir)
    database_url: Annotated[
        str | None,
        Field(
            validation_alias="DATABASE_URL",
            description="Database URL (PostgreSQL or SQLite); unset: SQLite in the data folder.",
        ),
    ] = None
    redis_url: Annotated[
        str | None,
        Field(
            validation_alias="REDIS_URL",
            description="URL of the Redis server for jobs; unset means the embedded server.",
        ),
    ] = None
    secret_key: Annotated[
        str | None,
        Field(
            description="Key that seals passwords in stored batches until a worker hashes "
            "them; unset: a key file in the data folder."
        ),
    ] = None
    smtp_url: Annotated[
        str | None,
        Field(
            validation_alias="SMTP_URL",
            description="SMTP server for outgoing mail; unset: mail is kept in the app's Outbox.",
        ),
    ] = None
    mail_from: Annotated[
        str, Field(description="The From address of every message userbatch sends.")
    ] = "userbatch@localhost"
    mail_retry_seconds: Annotated[
        int, Field(ge=1, le=86400, description="Wait before the first retry of a failed send.")
    ] = 60
    mail_max_attempts: Annotated[
        int, Field(ge=1, le=20, description="Sends tried before a message counts as failed.")
    ] = 5
    session_minutes: Annotated[
        int, Field(ge=5, le=7 * 24 * 60, description="Minutes a sign-in lasts without activity.")
    ] = 480
    session_days: Annotated[
        int, Field(ge=1, le=90, description="Days a sign-in lasts at most, however active.")
    ] = 7
    password_sign_in: Annotated[
        bool,
        Field(description="Whether operators may sign in with a password (off: company only)."),
    ] = True
    oidc_metadata_url: Annotated[
        str | None,
        Field(
            description="Company sign-in: the OpenID provider's metadata URL "
            "(…/.well-known/openid-configuration); unset: no company sign-in."
        ),
    ] = None
    oidc_client_id: Annotated[
        str | None, Field(description="Company sign-in: the client id registered for userbatch.")
    ] = None
    oidc_client_secret: Annotated[
        str | None, Field(description="Company sign-in: that client's secret.")
    ] = None
    oidc_provider_name: Annotated[
        str, Field(description='Company sign-in: the name on the "Sign in with …" button.')
    ] = "your company account"
    draft_days: Annotated[
        int, Field(ge=1, le=365, description="Days an untouched draft is kept before removal.")
    ] = 14
    drafts_in_memory: Annotated[
        int,
        Field(ge=1, le=100, description="Drafts whose check the app server keeps in memory."),
    ] = 4
    password_min_length: Annotated[
        int, Field(ge=8, le=30, description="Shortest password accepted for users and operators.")
    ] = 8

    base_url: Annotated[
        str,
        Field(description="Address of the app as users reach it, for links in invitations."),
    ] = "http://localhost:8501"
    invitation_days: Annotated[
        int, Field(ge=1, le=90, description="Days an invitation's set-password link works.")
    ] = 7
    max_upload_mb: Annotated[
        int, Field(ge=1, le=2048, description="Largest file accepted for upload, in MB.")
    ] = 200
    max_rows: Annotated[
        int, Field(ge=1, le=5_000_000, description="Most data rows accepted in one file.")
    ] = 1_000_000
    api_requests_per_minute: Annotated[
        int,
        Field(ge=1, le=100_000, description="Requests one API token may make in a minute."),
    ] = 120
    checks_at_once: Annotated[
        int,
        Field(
            ge=1,
            le=64,
            description="Uploads the app server reads and checks at once; "
            "more wait for a free slot.",
        ),
    ] = 4
    checks_per_operator: Annotated[
        int,
        Field(ge=1, le=16, description="Uploads one operator may have checked at once."),
    ] = 2
    check_wait_seconds: Annotated[
        int,
        Field(
            ge=0,
            le=3600,
            description="Seconds an upload waits for a free slot before it is refused as busy.",
        ),
    ] = 120
    workbook_memory_mb: Annotated[
        int,
        Field(
            ge=64,
            le=65536,
            description="Memory an Excel workbook's reading may take, in MB "
            "(a larger workbook is refused: it can be split or saved as CSV).",
        ),
    ] = 512
    mass_change_percent: Annotated[
        float,
        Field(
            ge=0,
            le=100,
            description="A batch that would suspend or update more than this share of the "
            "operator's users (and more than mass_change_min_users) must be confirmed by "
            "typing the number.",
        ),
    ] = 10.0
    mass_change_min_users: Annotated[
        int,
        Field(ge=0, description="Batches that change at most this many users need no typed "
              "confirmation."),
    ] = 50  # fmt: skip

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError(
                Text("is not a database URL (e.g. postgresql://user@host/db)")
            ) from None
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValueError(Text("database '{backend}' is not supported (use sqlite or "
                                  "postgresql)", backend=url.get_backend_name()))  # fmt: skip
        return value

    @model_validator(mode="after")
    def _check_sign_in(self) -> Settings:
        oidc = (self.oidc_metadata_url, self.oidc_client_id, self.oidc_client_secret)
        if any(oidc) and not all(oidc):
            raise ValueError(Text(
                "company sign-in needs USERBATCH_OIDC_METADATA_URL, USERBATCH_OIDC_CLIENT_ID "
                "and USERBATCH_OIDC_CLIENT_SECRET together"
            ))  # fmt: skip
        if not self.password_sign_in and not self.company_sign_in:
            raise ValueError(Text(
                "USERBATCH_PASSWORD_SIGN_IN is off but company sign-in is not set up: nobody "
                "could sign in"
            ))  # fmt: skip
        return self

    @property
    def company_sign_in(self) -> bool:
        """True when an OpenID provider is configured for company sign-in."""
        return self.oidc_metadata_url is not None

    @field_validator("smtp_url")
    @classmethod
    def _check_smtp_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("smtp://", "smtps://")):
            raise ValueError(
                Text("must look like smtp://user:password@host:587 (STARTTLS) or smtps://host:465")
            )
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(Text("must start with redis://, rediss:// or unix://"))
        return value

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL with the driver userbatch uses (psycopg 3 for PostgreSQL)."""
        if self.database_url is None:
            return f"sqlite:///{self.data_dir / 'userbatch.db'}"
        url = make_url(self.database_url)
        if url.get_backend_name() == "postgresql":
            url = url.set(drivername="postgresql+psycopg")
        return url.render_as_string(hide_password=False)

    @property
    def embedded_redis(self) -> bool:
        """True when userbatch runs its own Redis server (``REDIS_URL`` unset)."""
        return self.redis_url is None

    @property
    def redis_socket(self) -> Path:
        """Where the embedded Redis server listens: a Unix socket only this user can open."""
        path = self.data_dir.resolve() / "redis" / "redis.sock"
        if len(str(path)) <= _MAX_SOCKET_PATH:
            return path
        digest = hashlib.sha256(str(path).encode()).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / f"userbatch-{digest}.sock"

    @property
    def effective_redis_url(self) -> str:
        """The Redis URL every process uses: ``REDIS_URL`` or the embedded server's socket."""
        return self.redis_url or f"unix://{self.redis_socket}"

    def as_environment(self) -> dict[str, str]:
        """The environment variables that give another process exactly these settings."""
        return {
            env_name(field): str(value)
            for field in type(self).model_fields
            if (value := getattr(self, field)) is not None
        }


def env_name(field: str) -> str:
    """The environment variable that sets ``field``."""
    alias = Settings.model_fields[field].validation_alias
    return alias if isinstance(alias, str) else ENV_PREFIX + field.upper()


def get_settings() -> Settings:
    """Read the settings from the environment.

    Raises ``ConfigError`` with one line naming each bad variable.
    """
    return _settings_of(tuple(sorted(os.environ.items())))


@functools.lru_cache(maxsize=4)
def _settings_of(environment: tuple[tuple[str, str], ...]) -> Settings:
    """The settings of this environment: read once while it stays the same (the app reads
    them at every rerun; reading them took milliseconds)."""
    try:
        return Settings()
    except ValidationError as exc:
        problems: list[Words] = []
        for error in exc.errors():
            message = _message(error)
            if not error["loc"]:  # a rule over several settings names them itself
                problems.append(message)
                continue
            field = str(error["loc"][0])
            name = env_name(field) if field in Settings.model_fields else field.upper()
            problems.append(Text("{name}: {message} (got {value})", name=name, message=message,
                                 value=repr(error.get("input"))))  # fmt: skip
        raise ConfigError(
            Text("configuration error: {problems}", problems=_Problems(problems))
        ) from None


# Pydantic's own messages for the settings' types and bounds, in the reader's language; the
# English is pydantic's. Others stay as pydantic words them.
_PYDANTIC = {
    "int_parsing": N_("Input should be a valid integer, unable to parse string as an integer"),
    "float_parsing": N_("Input should be a valid number, unable to parse string as a number"),
    "bool_parsing": N_("Input should be a valid boolean, unable to interpret input"),
}
_BOUNDS = {
    "greater_than_equal": N_("Input should be greater than or equal to {bound}"),
    "less_than_equal": N_("Input should be less than or equal to {bound}"),
}


def _message(error: Any) -> Words:
    """The words of one validation error: a validator's own (a ``Text``), or pydantic's."""
    raised = (error.get("ctx") or {}).get("error")
    if isinstance(raised, ValueError) and raised.args and isinstance(raised.args[0], Text):
        return raised.args[0]
    kind, words = error["type"], str(error["msg"])
    if kind in _PYDANTIC:
        return Text(_PYDANTIC[kind])
    if kind in _BOUNDS:  # the bound as pydantic shows it ("0", not "0.0")
        return Text(_BOUNDS[kind], bound=words.rpartition(" ")[2])
    return words.removeprefix("Value error, ")


class _Problems:
    """The problems of a configuration, one after another, in the reader's language."""

    def __init__(self, problems: list[Words]) -> None:
        self.problems = problems

    def __str__(self) -> str:
        return ("；" if language() == JAPANESE else "; ").join(map(str, self.problems))
