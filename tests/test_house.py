"""Meta-tests that keep the house in order."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import ROOT
from userbatch.settings import Settings, env_name

PACKAGE = ROOT / "lib" / "userbatch"
DOMAIN_MODULES = sorted(
    path for path in PACKAGE.rglob("*.py") if "ui" not in path.relative_to(PACKAGE).parts
)
# A screen is the ui module Streamlit runs as a page (app.py lists them).
SCREENS = sorted(
    path
    for path in (PACKAGE / "ui").rglob("*.py")
    if '\nif __name__ == "__main__":' in path.read_text()
)


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("path", DOMAIN_MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_domain_does_not_import_streamlit(path: Path) -> None:
    assert "streamlit" not in _imports(path)


def test_loading_the_whole_domain_loads_no_streamlit() -> None:
    modules = [
        "userbatch." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        for path in DOMAIN_MODULES
        if path.name not in ("__init__.py", "__main__.py") and "migrations" not in path.parts
    ]
    code = "import sys\n" + "".join(f"import {m}\n" for m in modules)
    code += "assert 'streamlit' not in sys.modules, 'streamlit was imported'\n"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_the_app_reaches_data_only_through_userbatch() -> None:
    assert not _imports(ROOT / "app.py") & {"sqlalchemy", "rq", "redis", "pydantic", "pandas"}


@pytest.mark.parametrize("path", SCREENS, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_screens_reach_data_only_through_userbatch(path: Path) -> None:
    # A screen draws its tables from DataFrames, so pandas is allowed here.
    assert not _imports(path) & {"sqlalchemy", "rq", "redis", "pydantic"}


@pytest.mark.parametrize("path", SCREENS, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_screen_has_a_test(path: Path) -> None:
    assert len(SCREENS) == 10  # the screens of app.py and the page an invitation links to
    mention = str(path.relative_to(ROOT))
    tests = [p for p in (ROOT / "tests").rglob("test_*.py") if mention in p.read_text()]
    assert tests, f"no test opens {mention}"


def test_there_is_no_pages_folder() -> None:
    # Streamlit treats a 'pages' folder beside the main script as a v1 multipage app: the
    # first visit after a start would run a screen directly, past the sign-in gate.
    assert not (ROOT / "pages").exists()


def test_streamlit_does_not_collect_all_garbage_after_every_page_run() -> None:
    """A full collection after each run of a page holds the interpreter lock for seconds
    with a few drafts in memory (docs/decisions.md, "The garbage collector")."""
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["runner"]["postScriptGC"] is False
    assert "gc.freeze()" in (ROOT / "server.py").read_text()


def _download_buttons() -> list[tuple[str, ast.Call]]:
    calls = []
    for path in sorted((PACKAGE / "ui").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "download_button"
            ):
                calls.append((f"{path.relative_to(PACKAGE)}:{node.lineno}", node))
    return calls


def test_a_download_never_reruns_the_page() -> None:
    """A click on a download that reruns the page races the rerun: the rerun revokes the file
    (a deferred one is made only at the click) and the browser then waits for it forever."""
    calls = _download_buttons()
    assert len(calls) >= 7
    for where, call in calls:
        given = {keyword.arg: keyword.value for keyword in call.keywords}
        on_click = given.get("on_click")
        assert isinstance(on_click, ast.Constant) and on_click.value == "ignore", where


def test_every_setting_is_on_the_settings_page() -> None:
    section = (ROOT / "docs" / "settings.md").read_text()
    # A row names one variable, or a few that go together ("`A`, `B`, `C`").
    cells = re.findall(r"^\| ((?:`[A-Z_]+`(?:, )?)+) \|", section, flags=re.MULTILINE)
    rows = {name for cell in cells for name in re.findall(r"`([A-Z_]+)`", cell)}
    assert rows == {env_name(field) for field in Settings.model_fields}


def test_the_layers_hold() -> None:
    # The import-linter contracts of pyproject.toml: the stages import only downstream, and
    # the domain never imports streamlit.
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    "path",
    # Migrations are the schema as it was at each revision, written once and never edited.
    sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts),
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_no_module_is_over_400_lines_nor_over_300_without_a_reason(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= 400, f"{lines} lines"
    if lines > 300:
        docstring = ast.get_docstring(ast.parse(path.read_text())) or ""
        assert "over 300 lines:" in docstring.lower(), f"{lines} lines, no reason in its docstring"


@pytest.mark.parametrize(
    "command",
    [["ruff", "check", "."], ["ruff", "format", "--check", "."], ["mypy"]],
    ids=lambda command: " ".join(command),
)
def test_the_code_is_lint_clean(command: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
