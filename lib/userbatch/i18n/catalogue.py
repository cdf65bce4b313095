"""The catalogue kept up to date with the code: every message id the code marks, extracted
with Babel, merged into each language's ``.po`` file.

``uv run python -m userbatch.i18n.catalogue`` adds the new ids (untranslated) and drops the
ones no longer in the code, keeping every translation made; a translator then fills in the
empty ``msgstr``. The test of the catalogues (``tests/i18n``) runs the same extraction and
fails while an id has no translation or a translation lost a placeholder.
"""

from __future__ import annotations

import string
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract as extract_file
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from userbatch.i18n import DOMAIN, ENGLISH, LANGUAGES, LOCALE_DIR

PACKAGE = Path(__file__).parents[1]
# The app's own file, beside lib/ in a checkout (its sections and screen titles).
APP = PACKAGE.parents[1] / "app.py"
# The calls whose first arguments (both, for ngettext) are message ids.
KEYWORDS = {"_": None, "N_": None, "Text": None, "ngettext": (1, 2), "Plural": (1, 2)}


def extract() -> Catalog:
    """Every message id the package's code marks, with where it is used."""
    template = Catalog(project="userbatch", domain=DOMAIN)
    found = list(extract_from_dir(
        PACKAGE, method_map=[("**.py", "python")], keywords=KEYWORDS, comment_tags=("i18n:",)
    ))  # fmt: skip
    if APP.exists():
        with APP.open("rb") as source:
            found += [
                ("../app.py", *entry)
                for entry in extract_file("python", source, KEYWORDS, ("i18n:",))
            ]
    for filename, line, message, comments, context in found:
        template.add(message, locations=[(filename, line)], auto_comments=comments,
                     context=context)  # fmt: skip
    return template


def path_of(code: str) -> Path:
    return LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"


def read(code: str) -> Catalog:
    with path_of(code).open("rb") as source:
        return read_po(source, locale=code)


def update() -> list[str]:
    """Merge the ids the code marks into every language's ``.po`` file; returns, per
    language, how many ids still want a translation."""
    template = extract()
    said = []
    for code in LANGUAGES:
        if code == ENGLISH:
            continue
        catalog = (
            read(code)
            if path_of(code).exists()
            else Catalog(locale=code, domain=DOMAIN, project="userbatch", fuzzy=False)
        )
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        path_of(code).parent.mkdir(parents=True, exist_ok=True)
        with path_of(code).open("wb") as target:
            write_po(target, catalog, width=100, sort_output=True, include_lineno=False)
        missing = sum(1 for message in catalog if message.id and not message.string)
        said.append(f"{code}: {len(catalog)} ids, {missing} without a translation")
    return said


def placeholders(words: str) -> set[str]:
    """The names of ``words``' ``str.format`` placeholders."""
    return {name for _, name, _, _ in string.Formatter().parse(words) if name is not None}


if __name__ == "__main__":
    print("\n".join(update()))
    sys.exit(0)
