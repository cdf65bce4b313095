import subprocess
import sys
from pathlib import Path

import pytest

from userbatch.errors import ConfigError
from userbatch.settings import Settings, env_name, get_settings


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("DATABASE_URL", "foo", "DATABASE_URL: is not a database URL"),
        ("DATABASE_URL", "mysql://root@localhost/db", "database 'mysql' is not supported"),
        ("REDIS_URL", "localhost:6379", "REDIS_URL: must start with redis://"),
        ("USERBATCH_SESSION_MINUTES", "soon", "USERBATCH_SESSION_MINUTES: Input should be a valid"),
        ("USERBATCH_SESSION_MINUTES", "1", "USERBATCH_SESSION_MINUTES: Input should be greater"),
        ("USERBATCH_PASSWORD_MIN_LENGTH", "31", "USERBATCH_PASSWORD_MIN_LENGTH: Input should be"),
    ],
)
def test_a_bad_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as raised:
        get_settings()
    assert expected in str(raised.value)
    assert "\n" not in str(raised.value)


def test_defaults_need_no_service(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for variable in ("DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("USERBATCH_DATA_DIR", str(tmp_path))
    settings = get_settings()
    assert settings.sqlalchemy_url == f"sqlite:///{tmp_path / 'userbatch.db'}"
    assert settings.embedded_redis
    assert settings.effective_redis_url == f"unix://{tmp_path / 'redis' / 'redis.sock'}"


def test_postgres_urls_use_psycopg_3() -> None:
    settings = Settings(database_url="postgresql://postgres@127.0.0.1:5432/test")
    assert settings.sqlalchemy_url == "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def test_a_deep_data_folder_still_gets_a_short_socket(tmp_path: Path) -> None:
    deep = tmp_path.joinpath(*["a-rather-long-folder-name"] * 6)
    socket_path = Settings(data_dir=deep).redis_socket
    assert len(str(socket_path)) <= 100
    assert socket_path == Settings(data_dir=deep).redis_socket


@pytest.mark.parametrize("field", list(Settings.model_fields))
def test_every_setting_has_an_environment_variable(field: str) -> None:
    name = env_name(field)
    assert name.isupper()


def test_the_command_stops_with_one_line(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "USERBATCH_DATA_DIR": str(tmp_path), "DATABASE_URL": "foo"}
    result = subprocess.run(
        [sys.executable, "-m", "userbatch", "worker", "--burst"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "userbatch: configuration error: DATABASE_URL: is not a database URL "
        "(e.g. postgresql://user@host/db) (got 'foo')"
    ]
