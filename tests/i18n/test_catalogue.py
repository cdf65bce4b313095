"""The catalogue: every message id the code marks has a Japanese translation that keeps its
placeholders, and the catalogue holds nothing the code no longer says."""

from __future__ import annotations

import re

import pytest

from userbatch.i18n import (
    JAPANESE,
    Both,
    Listing,
    Plural,
    Sentences,
    Text,
    _,
    did_you_mean,
    speaking,
    supported,
    translations,
)
from userbatch.i18n.catalogue import extract, placeholders, read

JAPANESE_WORDS = re.compile(r"[\u3000-\u30ff\u4e00-\u9fff\uff00-\uffef]")
# Names that Japanese writes as English does.
SAME_IN_BOTH = {"UTF-8", "UTF-16", "Shift_JIS (CP932)"}


def _ids(catalog: object) -> dict[str, tuple[str, ...]]:
    """Message id (its singular) -> the ids (singular, plural) as the catalogue has them."""
    found = {}
    for message in catalog:  # type: ignore[attr-defined]
        if message.id:
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            found[ids[0]] = ids
    return found


def test_every_id_the_code_marks_is_in_the_catalogue_and_nothing_else() -> None:
    marked, kept = _ids(extract()), _ids(read(JAPANESE))
    assert sorted(set(marked) - set(kept)) == [], (
        "run 'uv run python -m userbatch.i18n.catalogue' and translate the new ids"
    )
    assert sorted(set(kept) - set(marked)) == [], "ids no longer in the code"
    assert len(marked) > 50


def test_every_id_has_a_japanese_translation_with_the_same_placeholders() -> None:
    catalog = read(JAPANESE)
    untranslated, lost = [], []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings) or message.fuzzy:
            untranslated.append(ids[0])
            continue
        wanted = set().union(*(placeholders(one) for one in ids)) - {"n"}
        for string in strings:
            if placeholders(string) - {"n"} != wanted:
                lost.append((ids[0], string))
        if (
            not any(JAPANESE_WORDS.search(string) for string in strings)
            and ids[0] not in SAME_IN_BOTH
        ):
            untranslated.append(ids[0])
    assert untranslated == []
    assert lost == []


def test_the_catalogue_is_read_and_texts_speak_the_readers_language() -> None:
    assert translations(JAPANESE).gettext("The file is empty.") == "ファイルが空です。"
    text = Text("{label} is required.", label=Both("Name", "氏名"))
    assert str(text) == "Name is required."
    with speaking("ja-JP"):
        assert str(text) == "氏名は必須です。"
        assert _("The file is empty.") == "ファイルが空です。"
        assert str(Listing(["A", "B"])) == "A、B"
        asked = did_you_mean(Text("The group '{path}' does not exist.", path="Tokio"), "Tokyo")
        assert str(asked) == "グループ 'Tokio' は存在しません。'Tokyo' のことですか？"
    assert str(text) == "Name is required."  # the language before the block again
    assert str(Sentences(Text("The file is empty."), "Next.")) == "The file is empty. Next."
    plural = Plural("{labels} is not imported; the values in that column are ignored.",
                    "{labels} are not imported; the values in those columns are ignored.",
                    2, labels=Listing(["Result", "Message"]))  # fmt: skip
    assert str(plural).startswith("Result and Message are not imported")


@pytest.mark.parametrize(
    ("requested", "expected"),
    [("ja", "ja"), ("ja-JP", "ja"), ("ja_JP.UTF-8", "ja"), ("en-GB", "en"), ("fr-FR", None),
     ("", None), (None, None)],
)  # fmt: skip
def test_the_languages_asked_for(requested: str | None, expected: str | None) -> None:
    assert supported(requested) == expected
