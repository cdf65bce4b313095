"""English words kept as text, read again in the reader's language.

What the workers write into the database for people to read later — a row's outcome message,
a batch's error, a message's last error — stays English text there (the worker has no reader;
the command line and the tests read it as it is). A screen or a download shows it in its
reader's language by finding, in the catalogue, the message id it was made from: the words
themselves, or a message id whose placeholders match parts of them (each part read again the
same way when it is words, not one token or a placeholder in quotes: a value, '{login}'),
or sentences one after another, each read so. Words the catalogue does not know stay as
they are (an SMTP server's reply, a user's value).
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

from userbatch.i18n import ENGLISH, Words, language, speaking

_PLACEHOLDER = re.compile(r"\{(\w+)(?:[:!][^{}]*)?\}")
# Where a run of sentences breaks: after a full stop, a question or exclamation mark, a space.
_SENTENCE_END = re.compile(r"(?<=[.?!])\s+(?=\S)")
_QUOTED = re.compile(r"""['"]\{(\w+)(?:[:!][^{}]*)?\}['"]""")
# A part of a message is read again only when it is words (a login, a state is one token).
_PHRASE = re.compile(r"\S\s+\S")
_WORD = re.compile(r"[A-Za-z]{2,}")
_DEPTH = 3


class _Pattern(NamedTuple):
    matcher: re.Pattern[str]
    translation: str
    values: frozenset[str]  # the placeholders in quotes: values (a login, a path), not words


class _Catalogue(NamedTuple):
    exact: dict[str, str]
    patterns: list[_Pattern]


def kept(words: Words) -> str:
    """``words`` made in English, to keep as text (and read again with ``recalled``)."""
    with speaking(ENGLISH):
        return str(words)


def recalled(english: str) -> str:
    """``english`` (words made in English and kept) in the current language, as far as the
    catalogue knows them; the text as it is in English or where it knows none of it."""
    code = language()
    if code == ENGLISH or not english:
        return english
    return _recalled(code, english)


@functools.lru_cache(maxsize=4096)
def _recalled(code: str, english: str) -> str:
    return _read(_catalogue(code), english, _DEPTH) or english


def _read(catalogue: _Catalogue, english: str, depth: int) -> str | None:
    """``english`` in the catalogue's language, or None when no message id makes it."""
    if english in catalogue.exact:
        return catalogue.exact[english]
    if depth == 0:
        return None
    for pattern in catalogue.patterns:
        found = pattern.matcher.fullmatch(english)
        if found is None:
            continue
        parts = {
            name: value
            if name in pattern.values or not _PHRASE.search(value)
            else _read(catalogue, value, depth - 1) or value
            for name, value in found.groupdict().items()
        }
        return _filled(pattern.translation, parts)
    sentences = _SENTENCE_END.split(english)
    if len(sentences) < 2:
        return None
    read = [_read(catalogue, sentence, depth - 1) for sentence in sentences]
    if not any(read):
        return None
    return "".join(words or sentence for words, sentence in zip(read, sentences, strict=True))


def _filled(translation: str, parts: dict[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda found: parts.get(found[1], found[0]), translation)


@functools.cache
def _catalogue(code: str) -> _Catalogue:
    """The catalogue of ``code`` as English -> its words: exact ids, and the ids with
    placeholders as patterns (the longest, most specific, first)."""
    from babel.messages.pofile import read_po

    from userbatch.i18n import DOMAIN, LOCALE_DIR

    with (LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as source:
        catalog = read_po(source, locale=code)
    exact: dict[str, str] = {}
    patterns: list[tuple[int, _Pattern]] = []
    for message in catalog:
        if not message.id or message.fuzzy:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        translation = next((str(one) for one in strings if one), "")
        if not translation:
            continue
        for english in map(str, ids):
            if _PLACEHOLDER.search(english):
                matcher = _matcher(english)
                if matcher is not None:
                    literal = len(_PLACEHOLDER.sub("", english))
                    values = frozenset(_QUOTED.findall(english))
                    patterns.append((literal, _Pattern(matcher, translation, values)))
            else:
                exact.setdefault(english, translation)
    patterns.sort(key=lambda item: -item[0])
    return _Catalogue(exact, [pattern for _length, pattern in patterns])


def _matcher(english: str) -> re.Pattern[str] | None:
    """A pattern matching the words ``english`` makes, each placeholder a named group (None
    for an id that names a placeholder twice or has no word of its own to match)."""
    parts, names, at = [], set(), 0
    for found in _PLACEHOLDER.finditer(english):
        name = found[1]
        if name in names or not name.isidentifier():
            return None
        names.add(name)
        parts.append(re.escape(english[at : found.start()]))
        parts.append(f"(?P<{name}>.+?)")
        at = found.end()
    parts.append(re.escape(english[at:]))
    if not _WORD.search(_PLACEHOLDER.sub("", english)):
        return None  # "{name}: {state}" would match too much
    return re.compile("".join(parts), re.DOTALL)
