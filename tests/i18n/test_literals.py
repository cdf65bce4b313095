"""No words a person reads bypass the catalogue: a scan of the code for English literals
given to Streamlit, printed by the command line, or raised as an error's message.

A literal counts when it holds a word (two letters in a row) once icons (``:material/x:``),
placeholders and Markdown are taken out; words go through ``_()``, ``ngettext``, ``Text`` or
``Plural`` instead. What stays English on purpose is in ``ALLOWED``, with why.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT
from userbatch import errors

PACKAGE = ROOT / "lib" / "userbatch"
SCREENS = [*sorted((PACKAGE / "ui").rglob("*.py")), ROOT / "app.py"]
COMMANDS = sorted((PACKAGE / "cli").glob("*.py"))
EVERYWHERE = sorted(PACKAGE.rglob("*.py"))

# Streamlit's calls that show their first argument (a title, a label, a message).
SHOWN = {
    "title", "header", "subheader", "write", "markdown", "caption", "text", "error", "warning",
    "info", "success", "exception", "toast", "button", "download_button", "form_submit_button",
    "link_button", "page_link", "text_input", "text_area", "number_input", "date_input",
    "time_input", "selectbox", "multiselect", "radio", "checkbox", "toggle", "slider",
    "select_slider", "file_uploader", "color_picker", "expander", "popover", "status",
    "spinner", "progress", "metric", "dialog", "Page", "segmented_control", "pills",
    "TextColumn", "NumberColumn", "CheckboxColumn", "SelectboxColumn", "DatetimeColumn",
    "DateColumn", "LinkColumn", "ListColumn", "Column", "ProgressColumn", "tabs",
}  # fmt: skip
# Keyword arguments that Streamlit shows, wherever they are given.
SHOWN_KEYWORDS = {"label", "help", "placeholder", "caption", "title", "body", "text"}
# The command line's: what it prints and the help of its options.
PRINTED = {"print", "write", "error", "exit"}
WORDS = re.compile(r"[A-Za-z]{2,}")
NOT_WORDS = re.compile(r":material/[a-z_]+:|\{[^{}]*\}|\*\*|https?://\S+")
# The errors people read: userbatch's own (a ValueError, a LookupError is a bug's, for us).
ERRORS = {
    name for name, value in vars(errors).items()
    if isinstance(value, type) and issubclass(value, errors.UserbatchError)
}  # fmt: skip

# (file, the literal's words): English on purpose.
ALLOWED = {
    # The language switch names each language in its own words, both at once.
    ("lib/userbatch/ui/language.py", "Language / 言語"),
}


def _words(node: ast.expr) -> str | None:
    """The words of a literal (or of an f-string's literal parts), if it holds any."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        text = node.value
    elif isinstance(node, ast.JoinedStr):
        text = "".join(
            part.value
            for part in node.values
            if isinstance(part, ast.Constant) and isinstance(part.value, str)
        )
    else:
        return None
    return text if WORDS.search(NOT_WORDS.sub(" ", text)) else None


def _name(call: ast.Call) -> str:
    function = call.func
    if isinstance(function, ast.Attribute):
        return function.attr
    return function.id if isinstance(function, ast.Name) else ""


def _shown(call: ast.Call, names: set[str], keywords: set[str]) -> Iterator[ast.expr]:
    if _name(call) in names and call.args:
        yield call.args[0]
    yield from (kw.value for kw in call.keywords if kw.arg in keywords)


def _literals(source: str, *, screen: bool, command: bool) -> Iterator[tuple[int, str]]:
    """(line, words) of each literal in ``source`` that a person reads untranslated: given to
    Streamlit (of a ``screen``), printed (of a ``command``) or raised."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        arguments: list[ast.expr] = []
        if isinstance(node, ast.Call):
            if screen:
                arguments += _shown(node, SHOWN, SHOWN_KEYWORDS)
            if command:
                arguments += _shown(node, PRINTED, {"help", "description"})
        elif (
            isinstance(node, ast.Raise)
            and isinstance(node.exc, ast.Call)
            and _name(node.exc) in ERRORS
            and node.exc.args
        ):
            arguments.append(node.exc.args[0])
        found += [(arg.lineno, words) for arg in arguments if (words := _words(arg))]
    yield from sorted(found)


def _untranslated(paths: list[Path], *, screen: bool, command: bool) -> list[str]:
    found = []
    for path in paths:
        where = str(path.relative_to(ROOT))
        source = path.read_text(encoding="utf-8")
        for line, words in _literals(source, screen=screen, command=command):
            if (where, words) not in ALLOWED:
                found.append(f"{where}:{line}: {words!r}")
    return found


@pytest.mark.parametrize(
    "paths, screen, command",
    [(SCREENS, True, False), (COMMANDS, False, True), (EVERYWHERE, False, False)],
    ids=["screens", "command line", "errors"],
)
def test_no_words_a_person_reads_bypass_the_catalogue(
    paths: list[Path], screen: bool, command: bool
) -> None:
    assert _untranslated(paths, screen=screen, command=command) == []


def test_the_scan_finds_the_literals_it_looks_for() -> None:
    source = (
        'st.button("Delete user")\nst.caption(_("Fine"))\nleft.write(f"{count} users")\n'
        'st.info(":material/info:")\nst.text_input(_("Name"), help="Your name")\n'
        'print("Done.")\nraise Invalid(f"no group {path}")\nraise Invalid(Text("No {x}"))\n'
        'raise ValueError("a bug")\n'
    )
    assert [words for _line, words in _literals(source, screen=True, command=False)] == [
        "Delete user", " users", "Your name", "no group ",
    ]  # fmt: skip
    assert [words for _line, words in _literals(source, screen=False, command=True)] == [
        " users", "Your name", "Done.", "no group ",
    ]  # fmt: skip
    assert len(ALLOWED) <= 10
