"""The exceptions userbatch raises on purpose.

Pages and the CLI catch ``UserbatchError`` and show its message; anything else is a bug and
is allowed to surface.

::

    UserbatchError
    ├── ConfigError             a setting is missing or has a bad value
    ├── RuntimeStartError       the embedded Redis server or the worker could not start
    ├── SignInError             wrong login or password, or a disabled operator
    ├── SetupError              first-run set-up refused (already done, bad input)
    ├── PolicyError             a value breaks a rule (password policy, group name, ...)
    └── CsvFileError            the uploaded file as a whole cannot be checked; .problems
        ├── UnreadableFile      empty_file, no_rows, unreadable
        ├── FileLimitExceeded   too_large, too_many_rows
        └── BadHeader           duplicate_column, missing_column, unknown_column

Row-level problems of a CSV file are not exceptions: they are data (``Issue`` objects).
"""

from __future__ import annotations


class UserbatchError(Exception):
    """Base of every error userbatch raises on purpose; its message is shown to people."""


class ConfigError(UserbatchError):
    """A setting is missing or invalid. The message names the environment variable."""


class RuntimeStartError(UserbatchError):
    """The embedded Redis server or the RQ worker could not be started."""


class SignInError(UserbatchError):
    """The login or password is wrong, or the operator may not sign in."""


class SetupError(UserbatchError):
    """First-run set-up was refused."""


class PolicyError(UserbatchError):
    """A value breaks a rule of the product (password policy, group name, ...)."""


class CsvFileError(UserbatchError):
    """A file-level problem: nothing else in the file is checked.

    ``problems`` lists ``(code, message)`` pairs; a bad header can have several at once.
    """

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__(" ".join(message for _, message in problems))
        self.problems = problems

    @classmethod
    def one(cls, code: str, message: str) -> CsvFileError:
        return cls([(code, message)])

    @property
    def code(self) -> str:
        """The code of the first problem."""
        return self.problems[0][0]


class UnreadableFile(CsvFileError):
    """The bytes are no text table: empty, header only, or in no supported encoding."""


class FileLimitExceeded(CsvFileError):
    """More bytes or rows than the configured limits."""


class BadHeader(CsvFileError):
    """The header row names a column twice, lacks a required one, or has an unknown one."""
