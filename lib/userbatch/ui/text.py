"""Text from files and users, shown as Markdown but never interpreted as Markdown.

Streamlit reads every label, alert, caption, toast and progress text as GitHub-flavoured
Markdown with its own directives (``:red[...]``, ``$...$``); HTML is escaped but links,
images, colours and LaTeX are live. CommonMark lets a backslash escape any ASCII punctuation
character, so escaping all of them leaves no construct that a value could open.
"""

import string

from userbatch.i18n import Words

_SPECIAL = frozenset(string.punctuation)


def inert(text: Words) -> str:
    """``text`` (in the reader's language) with every ASCII punctuation character
    backslash-escaped: Streamlit shows it literally wherever it renders Markdown."""
    return "".join("\\" + ch if ch in _SPECIAL else ch for ch in str(text))
