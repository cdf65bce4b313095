"""argparse's own words ("usage: ", "options", its refusals) in the reader's language.

argparse looks its words up through its module's ``_`` (gettext's, in the process's global
domain, where userbatch keeps no catalogue). :func:`speak_ours` points that lookup at
userbatch's catalogue, in the language current when the words are made, so that ``--help``
and a mistake on the command line read like the rest of what the command prints. A word
argparse says that is not listed here (a programmer's mistake, a newer Python's wording)
stays as Python writes it.
"""

from __future__ import annotations

import argparse

from userbatch.i18n import N_, language, translations

# The words of Python's argparse a person reads, as argparse writes them (its ``%``
# placeholders, which argparse fills in itself).
WORDS = (
    N_("usage: "), N_("positional arguments"), N_("options"),
    N_("show this help message and exit"), N_("%(prog)s: error: %(message)s\n"),
    N_("argument %(argument_name)s: %(message)s"), N_("unrecognized arguments: %s"),
    N_("the following arguments are required: %s"), N_("one of the arguments %s is required"),
    N_("not allowed with argument %s"), N_("ignored explicit argument %r"),
    N_("expected one argument"), N_("expected at most one argument"),
    N_("expected at least one argument"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("invalid %(type)s value: %(value)r"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
)  # fmt: skip


def _in_current_language(words: str) -> str:
    return translations(language()).gettext(words)


def speak_ours() -> None:
    """Make argparse's words in the current language, from now on in this process."""
    setattr(argparse, "_", _in_current_language)  # noqa: B010 (argparse's own global)
