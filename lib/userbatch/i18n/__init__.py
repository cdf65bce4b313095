"""Two languages, one catalogue: English in the code, Japanese in ``locale/ja``.

Every text a person reads is written in English in the code and looked up, when it is shown,
in the catalogue of the reader's language (gettext's ``.po`` files, read with Babel when first
needed; no compile step). The reader's language is a context variable: the CLI sets it from
``--lang`` or the environment, the screens from the operator's choice or the browser, each
for the thread that draws them.

- ``_(msgid, **params)``: the words now, in the current language, with ``params`` filled in
  (``str.format`` placeholders: ``{row}``, ``{count:,}``).
- ``ngettext(singular, plural, n, **params)``: the same, by the number ``n`` (``{n}``).
- ``Text(msgid, **params)``: words made later, each time they are shown (``str(text)``), so
  that data kept across readers (a check's issues, an error) speaks each one's language.
- ``Plural(singular, plural, n, **params)``: the same, by the number ``n``.
- ``N_(msgid)``: marks a message id for the catalogue where it is looked up later.
- ``Both(english, japanese)``: a text given in both languages as data (a column's labels).
- ``Sentences(*texts)``: sentences one after another, as the language writes them.
- ``Listing(items)``: "A, B and C" as the language lists things (Babel's list patterns).
"""

from __future__ import annotations

import contextvars
import functools
import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from gettext import NullTranslations
from pathlib import Path
from typing import Any, NamedTuple

ENGLISH, JAPANESE = "en", "ja"
LANGUAGES = (ENGLISH, JAPANESE)
LANGUAGE_NAMES = {ENGLISH: "English", JAPANESE: "日本語"}
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"

_current: contextvars.ContextVar[str] = contextvars.ContextVar("language", default=ENGLISH)


def supported(requested: str | None) -> str | None:
    """The language of ``requested`` ("ja-JP", "ja_JP.UTF-8", "en") if userbatch speaks it."""
    if not requested:
        return None
    code = requested.replace("-", "_").split(".")[0].split("_")[0].casefold()
    return code if code in LANGUAGES else None


def from_environment() -> str:
    """The language the environment's locale asks for (``LC_ALL``, ``LC_MESSAGES``, ``LANG``,
    as gettext reads them), else English."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if os.environ.get(name):
            return supported(os.environ[name]) or ENGLISH
    return ENGLISH


def language() -> str:
    """The current reader's language."""
    return _current.get()


def set_language(code: str) -> None:
    """Speak ``code`` (one of ``LANGUAGES``) in this thread from now on."""
    _current.set(supported(code) or ENGLISH)


@contextmanager
def speaking(code: str) -> Iterator[None]:
    """Speak ``code`` inside the block, then the language before."""
    token = _current.set(supported(code) or ENGLISH)
    try:
        yield
    finally:
        _current.reset(token)


@functools.cache
def translations(code: str) -> NullTranslations:
    """The catalogue of ``code``, read from its ``.po`` file once a process (fuzzy entries,
    not yet checked by a person, are left out)."""
    if code == ENGLISH:
        return NullTranslations()
    # Babel is imported here, not with the module: the workbook reader's child process
    # (userbatch.files.xlsx) imports this module and must stay small.
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    from babel.support import Translations

    with (LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as source:
        catalog = read_po(source, locale=code)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def _filled(words: str, params: dict[str, Any]) -> str:
    # A parameter that is words itself (Text, Both, …) formats as its ``str``: in this language.
    return words.format(**params) if params else words


def _(msgid: str, /, **params: Any) -> str:
    """``msgid`` in the current language, its placeholders filled from ``params``."""
    return _filled(translations(language()).gettext(msgid), params)


def ngettext(singular: str, plural: str, n: int, /, **params: Any) -> str:
    """``singular`` or ``plural`` by ``n``, in the current language; ``{n}`` is ``n``."""
    return _filled(translations(language()).ngettext(singular, plural, n), {"n": n, **params})


def N_(msgid: str, /) -> str:
    """``msgid`` as it is, marked for the catalogue: it is looked up where it is shown."""
    return msgid


class Text:
    """Words made when shown: a message id and its parameters, kept as data.

    ``str(text)`` is the text in the current language. Parameters may be ``Text`` or ``Both``
    themselves; they are shown in the same language.
    """

    __slots__ = ("msgid", "params")

    def __init__(self, msgid: str, /, **params: Any) -> None:
        self.msgid = msgid
        self.params = params

    def __str__(self) -> str:
        return _(self.msgid, **self.params)

    def __repr__(self) -> str:
        return f"Text({self.msgid!r}, **{self.params!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Text) and (self.msgid, self.params) == (other.msgid, other.params)

    def __hash__(self) -> int:
        return hash(self.msgid)


class Plural(Text):
    """Words made when shown, singular or plural by the number ``n`` (``{n}`` in them)."""

    __slots__ = ("n", "plural")

    def __init__(self, singular: str, plural: str, n: int, /, **params: Any) -> None:
        super().__init__(singular, **params)
        self.plural, self.n = plural, n

    def __str__(self) -> str:
        return ngettext(self.msgid, self.plural, self.n, **self.params)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Plural) and (self.msgid, self.n, self.params) == (
            other.msgid,
            other.n,
            other.params,
        )

    def __hash__(self) -> int:
        return hash(self.msgid)


class Both(NamedTuple):
    """A text given in both languages as data (a standard column's labels)."""

    english: str
    japanese: str

    def __str__(self) -> str:
        return self.japanese if language() == JAPANESE else self.english


class Sentences:
    """Sentences shown one after another: a space between them in English, none in Japanese."""

    __slots__ = ("texts",)

    def __init__(self, *texts: object) -> None:
        self.texts = texts

    def __str__(self) -> str:
        return ("" if language() == JAPANESE else " ").join(map(str, self.texts))

    def __repr__(self) -> str:
        return f"Sentences{self.texts!r}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sentences) and self.texts == other.texts

    def __hash__(self) -> int:
        return hash(self.texts)


class Listing:
    """Items listed as the language lists them: "A, B and C", "A、B、C"."""

    __slots__ = ("items",)

    def __init__(self, items: list[Any]) -> None:
        self.items = items

    def __str__(self) -> str:
        from babel.lists import format_list

        return format_list([str(item) for item in self.items], locale=language())

    def __repr__(self) -> str:
        return f"Listing({self.items!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Listing) and self.items == other.items

    def __hash__(self) -> int:
        return hash(tuple(self.items))


def did_you_mean(text: Text, suggestion: str | None) -> Text | Sentences:
    """``text``, and after it the question whether ``suggestion`` was meant (if there is one)."""
    if not suggestion:
        return text
    return Sentences(text, Text("Did you mean '{value}'?", value=suggestion))


# Anything that shows as words: a text as it is, or one made in the reader's language.
Words = str | Text | Both | Sentences | Listing
