"""The exceptions userbatch raises on purpose.

Pages and the CLI catch ``UserbatchError`` and show its message; anything else is a bug and
is allowed to surface.

::

    UserbatchError
    ├── ConfigError             a setting is missing or has a bad value
    ├── RuntimeStartError       the embedded Redis server or the worker could not start
    ├── SignInError             wrong login or password, or a disabled operator
    ├── SetupError              first-run set-up refused (already done, bad input)
    └── PolicyError             a value breaks a rule (password policy, group name, ...)

Row-level problems of a CSV file are not exceptions: they are data (``Issue`` objects).
"""


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
