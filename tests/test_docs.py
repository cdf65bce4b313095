"""Meta-tests that keep the documents true: the tests they cite exist, the commands and
settings the README shows are real, and their links lead somewhere."""

from __future__ import annotations

import argparse
import ast
import importlib
import re
from functools import cache
from pathlib import Path

import pytest

from tests.conftest import ROOT
from userbatch.settings import Settings, env_name

README = ROOT / "README.md"
GUARANTEES = ROOT / "docs" / "guarantees.md"
SETTINGS = ROOT / "docs" / "settings.md"
DECISIONS = ROOT / "docs" / "decisions.md"
DOCUMENTS = sorted(
    {README, ROOT / "CONTRIBUTING.md", ROOT / "benchmarks" / "README.md"}
    | set((ROOT / "docs").glob("*.md"))
)
README_LIMIT = 12_000
# Variables the code reads itself, outside the settings (they are no configuration).
NOT_SETTINGS = {"USERBATCH_ADMIN_PASSWORD"}

# tests/path/test_file.py::name, or ::Class::name, with parametrized ids in brackets.
CITATION = re.compile(r"(tests/[\w/]+\.py)((?:::\w+)+)(?:\[[^\]`]*\])?")
COMMAND_LINE = re.compile(r"^\s*uv run userbatch\b(.*)$", re.MULTILINE)
INLINE_COMMAND = re.compile(r"`(?:uv run )?userbatch ([^`]*)`")
ENV_NAME = re.compile(r"\b(USERBATCH_[A-Z0-9_]*[A-Z0-9]|[A-Z][A-Z0-9]*_URL)\b")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def _citations(*documents: Path) -> list[tuple[str, tuple[str, ...]]]:
    text = "\n".join(document.read_text() for document in documents)
    found = [(m[1], tuple(m[2].removeprefix("::").split("::"))) for m in CITATION.finditer(text)]
    return list(dict.fromkeys(found))


@cache
def _names(path: Path) -> dict[str, set[str]]:
    """Top-level functions and classes of a module, and each class's methods."""
    names: dict[str, set[str]] = {"": set()}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names[""].add(node.name)
        if isinstance(node, ast.ClassDef):
            names[node.name] = {
                item.name
                for item in node.body
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
            }
    return names


def test_the_documents_exist_and_the_readme_is_short() -> None:
    assert GUARANTEES.is_file() and DECISIONS.is_file()
    length = len(README.read_text())
    assert length <= README_LIMIT, f"README.md has {length:,} characters"


def test_the_guarantees_cite_tests() -> None:
    assert len(_citations(GUARANTEES)) >= 20


@pytest.mark.parametrize(
    ("path", "names"),
    [
        pytest.param(path, names, id="::".join((path, *names)))
        for path, names in _citations(GUARANTEES, DECISIONS)
    ],
)
def test_every_cited_test_exists(path: str, names: tuple[str, ...]) -> None:
    module = ROOT / path
    assert module.is_file(), f"{path} does not exist"
    defined = _names(module)
    *owner, name = names
    scope = owner[0] if owner else ""
    assert name in defined.get(scope, set()), f"{path} defines no {'::'.join(names)}"


def _build_parser() -> argparse.ArgumentParser:
    """The command line's parser, wherever under userbatch.cli ``build_parser`` lives."""
    package = ROOT / "lib" / "userbatch" / "cli"
    for path in sorted(package.rglob("*.py")):
        if "def build_parser(" in path.read_text():
            parts = path.relative_to(ROOT / "lib").with_suffix("").parts
            module = importlib.import_module(".".join(parts))
            parser: argparse.ArgumentParser = module.build_parser()
            return parser
    raise AssertionError("no 'def build_parser' under lib/userbatch/cli")


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {option for action in parser._actions for option in action.option_strings}


def _shown_commands() -> list[str]:
    """Each ``userbatch ...`` command the README shows: lines of its code blocks starting
    with ``uv run userbatch`` (up to a comment), and inline ones in backquotes."""
    readme = README.read_text()
    lines = [match[1].split("#", 1)[0] for match in COMMAND_LINE.finditer(readme)]
    return [line.strip() for line in lines + INLINE_COMMAND.findall(readme)]


def test_the_readme_shows_commands() -> None:
    assert {"serve", "worker", "check", "import"} <= {c.split()[0] for c in _shown_commands()}


@pytest.mark.parametrize("command", _shown_commands())
def test_every_command_the_readme_shows_is_real(command: str) -> None:
    parser = _build_parser()
    words = command.split()
    # Options of the command line itself (--as LOGIN) come before the command.
    while words and words[0].startswith("-"):
        assert words[0] in _options(parser), f"userbatch has no option {words[0]}"
        words = words[2:]
    name, *rest = words
    commands = _subcommands(parser)
    assert name in commands, f"userbatch has no command '{name}'"
    sub = commands[name]
    below = _subcommands(sub)
    if below:
        assert rest and rest[0] in below, f"'userbatch {name}' needs one of {sorted(below)}"
        sub = below[rest[0]]
    for word in rest:
        option = word.split("=", 1)[0].strip("[]")
        if option.startswith("--"):
            assert option in _options(sub), f"'userbatch {command}': no option {option}"


def test_every_variable_in_the_readme_is_a_setting() -> None:
    settings = {env_name(field) for field in Settings.model_fields}
    for document in (README, SETTINGS):
        named = set(ENV_NAME.findall(document.read_text()))
        assert named - settings - NOT_SETTINGS == set(), document.name


def test_the_variables_that_are_no_settings_are_read_by_the_code() -> None:
    # A string of its own (as in ``os.environ.get("NAME")``), not a mention in a help text.
    strings = {
        node.value
        for path in (ROOT / "lib").rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }
    missing = NOT_SETTINGS - strings
    assert not missing, f"nothing in lib/ reads {missing}"


def _links() -> list[tuple[Path, str]]:
    """Relative links of the documents (not those to a web address)."""
    found = []
    for document in DOCUMENTS:
        for target in LINK.findall(document.read_text()):
            if not re.match(r"[a-z][a-z0-9+.-]*:", target):
                found.append((document, target))
    return found


def _anchors(document: Path) -> set[str]:
    """The anchors of a Markdown file's headings, as GitHub makes them."""
    text = re.sub(r"^```.*?^```", "", document.read_text(), flags=re.MULTILINE | re.DOTALL)
    headings = re.findall(r"^#+ (.+)$", text, flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


@pytest.mark.parametrize(
    ("document", "target"),
    [
        pytest.param(document, target, id=f"{document.relative_to(ROOT)}->{target}")
        for document, target in _links()
    ],
)
def test_every_relative_link_leads_to_a_file(document: Path, target: str) -> None:
    file, _, anchor = target.partition("#")
    path = (document.parent / file).resolve() if file else document
    assert path.is_relative_to(ROOT), f"{target} leads out of the repository"
    assert path.exists(), f"{document.name}: {target} does not exist"
    if anchor and path.suffix == ".md":
        assert anchor in _anchors(path), f"{document.name}: {path.name} has no heading #{anchor}"
