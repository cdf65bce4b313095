"""Password hashing (argon2id) and the password policy shared by users and operators."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from userbatch.i18n import Text

# OWASP's minimum for argon2id: 19 MiB of memory, two passes, one lane (~20 ms a hash).
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_ARGON2ID = re.compile(r"^\$argon2id\$v=\d+\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$")


def hash_password(password: str) -> str:
    """The argon2id hash of ``password``."""
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches ``password_hash``."""
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def is_argon2_hash(value: str) -> bool:
    """True when ``value`` is already an argon2id hash (taken as the hash, not re-hashed)."""
    return bool(_ARGON2ID.match(value))


def password_problems(
    password: str, *, min_length: int, login: str | None = None, what: object = None
) -> list[Text]:
    """What is wrong with ``password`` under the policy, a sentence each about ``what`` (the
    column it was typed in; "The password" by default); empty when it is fine."""
    what = Text("The password") if what is None else what
    problems = []
    if len(password) < min_length:
        problems.append(
            Text("{what} must be at least {min} characters; it has {count}.",
                 what=what, min=min_length, count=len(password))
        )  # fmt: skip
    if not re.search(r"[A-Za-z]", password) or not re.search(r"[0-9]", password):
        problems.append(Text("{what} must contain at least one letter and one digit.", what=what))
    if login and login.lower() in password.lower():
        problems.append(Text("{what} must not contain the login ID.", what=what))
    return problems
