"""Text from files and users, shown as Markdown but never interpreted as Markdown."""

_SPECIAL = "\\`*_{}[]()#+-.!<>|~$"


def inert(text: str) -> str:
    """``text`` with every Markdown-special character escaped."""
    return "".join("\\" + ch if ch in _SPECIAL else ch for ch in text)
