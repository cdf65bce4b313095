"""The exceptions userbatch raises on purpose: one tree, a leaf per cause a caller acts on.

Screens and the CLI catch ``UserbatchError`` and show its message; anything else is a bug and
is allowed to surface. Each class carries the CLI's exit code (SPEC §8): 1 when a request
was understood and refused (the file or a value is bad, the thing is not there, not yours,
or not in a state that allows it), 2 for bad usage or configuration.

::

    UserbatchError                  exit 1
    ├── ConfigError                 exit 2  a setting is missing or has a bad value
    │   └── RuntimeStartError       exit 2  the embedded Redis server or a worker won't start
    ├── UsageError                  exit 2  the command cannot run as asked (set-up not done)
    ├── NotFound                    exit 1  no batch, user, group, template … with that id
    ├── NotAllowed                  exit 1  outside the operator's groups or role, another's
    ├── Conflict                    exit 1  the thing's state or a name taken refuses it
    │   └── Unconfirmed             exit 1  a mass change not confirmed with its number
    ├── Invalid                     exit 1  a value breaks a rule (password policy, a name …)
    ├── DeliveryFailed              exit 1  the SMTP server refused or could not be reached
    ├── SignInError                 exit 1  wrong login or password, or a disabled operator
    ├── SetupError                  exit 1  first-run set-up refused (already done)
    └── CsvFileError                exit 1  the uploaded file as a whole; .problems
        ├── UnreadableFile                  empty_file, no_rows, unreadable
        ├── FileLimitExceeded               too_large, too_many_rows, busy (no slot free)
        └── BadHeader                       duplicate_column, missing_column, unknown_column

Messages are formatted late: an error keeps its ``template`` (a message id of the catalogue)
or its words (``userbatch.i18n.Text``) and parameters, and its text is made when it is shown
(``str(error)``), in the reader's language. Row-level problems of a CSV file are not exceptions:
they are data (``userbatch.check.issues.Issue``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from userbatch.i18n import N_, Sentences, Text, Words, _

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2


class UserbatchError(Exception):
    """Base of every error userbatch raises on purpose; its message is shown to people.

    ``UserbatchError("text")`` keeps the text as it is; a subclass with a ``template`` is
    raised with its parameters (``NotFound(what="batch", key=batch_id)``).
    """

    exit_code: ClassVar[int] = EXIT_REFUSED
    template: ClassVar[str] = "{message}"

    def __init__(self, message: Words | None = None, /, **params: Any) -> None:
        if message is not None:
            params["message"] = message
        self.params = params
        super().__init__(message if message is not None else self.template)

    @property
    def message(self) -> str:
        """The text shown to people, made now from the template and the parameters (a text
        given as it is wins)."""
        if "message" in self.params:
            return str(self.params["message"])
        return _(self.template, **self.params)

    def __str__(self) -> str:
        return self.message


class ConfigError(UserbatchError):
    """A setting is missing or invalid. The message names the environment variable."""

    exit_code = EXIT_USAGE


class RuntimeStartError(ConfigError):
    """The embedded Redis server or the RQ worker could not be started."""


class UsageError(UserbatchError):
    """The command cannot run as asked (set-up not done, no such operator to act as)."""

    exit_code = EXIT_USAGE


class NotFound(UserbatchError):
    """There is no such thing (batch, user, group, template, message)."""

    template = N_("There is no {what} {key}.")


class NotAllowed(UserbatchError):
    """The operator may not do this: outside their groups, above their role, not theirs."""


class Conflict(UserbatchError):
    """The thing's state, or a name already taken, refuses the change."""


class Unconfirmed(Conflict):
    """A batch would change many users (``userbatch.batches.guard``) and was not confirmed by
    typing how many: ``sentence`` says what it would do, ``affected`` is the number."""

    template = N_("{sentence} To go ahead, confirm the number of users affected: {affected}.")


class Invalid(UserbatchError):
    """A value breaks a rule of the product (password policy, group name, a template)."""


class DeliveryFailed(UserbatchError):
    """The SMTP server refused a message or could not be reached."""


class SignInError(UserbatchError):
    """The login or password is wrong, or the operator may not sign in."""


class SetupError(UserbatchError):
    """First-run set-up was refused."""


class CsvFileError(UserbatchError):
    """A file-level problem: nothing else in the file is checked.

    ``problems`` lists ``(code, message)`` pairs; a bad header can have several at once.
    """

    def __init__(self, problems: list[tuple[str, Words]]) -> None:
        super().__init__(Sentences(*(message for _code, message in problems)))
        self.problems = problems

    @classmethod
    def one(cls, code: str, message: Words) -> CsvFileError:
        return cls([(code, message)])

    @property
    def code(self) -> str:
        """The code of the first problem."""
        return self.problems[0][0]


class UnreadableFile(CsvFileError):
    """The bytes are no text table: empty, header only, or in no supported encoding."""


class FileLimitExceeded(CsvFileError):
    """More bytes or rows than the configured limits."""

    @classmethod
    def rows(cls, max_rows: int) -> CsvFileError:
        """The error for a file with more than ``max_rows`` rows of users."""
        return cls.one(
            "too_many_rows",
            Text("The file has more than {max:,} rows of users; split it into smaller files.",
                 max=max_rows),
        )  # fmt: skip


class BadHeader(CsvFileError):
    """The header row names a column twice, lacks a required one, or has an unknown one."""
