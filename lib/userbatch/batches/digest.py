"""The digest of a checked sheet: SHA-256 of every row's status, user, problems and changes.

A draft keeps the digest of its last edit; restoring it checks the file again and replays
the edits, and a digest that differs tells that the database changed meanwhile.
"""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import Callable
from typing import Any

import pandas as pd

from userbatch.check.issues import Issue
from userbatch.check.state import CheckResult

# By result: each row's issues and changes as the digest reads them, with the list or dict
# they were written from. A re-check replaces the lists and dicts of the rows it judged
# again and no other, so an edit's digest writes out only those rows again (every row's
# took 40 ms on a 100k-row sheet, at each edit).
_WRITTEN: weakref.WeakKeyDictionary[CheckResult, tuple[dict[int, Any], dict[int, Any]]] = (
    weakref.WeakKeyDictionary()
)


def digest(result: CheckResult) -> str:
    """SHA-256 of every row's status, user, problems and changes."""
    hashed = hashlib.sha256()
    for series in (result.status, result.user_ids):
        hashed.update(pd.util.hash_pandas_object(series, index=True).to_numpy().tobytes())
    issues, changes = _WRITTEN.setdefault(result, ({}, {}))
    for number in sorted(result.issues):
        hashed.update(_written(issues, number, result.issues[number], _issues_text))
    for number in sorted(result.changes):
        hashed.update(_written(changes, number, result.changes[number], _changes_text))
    return hashed.hexdigest()


def _written(
    cache: dict[int, Any], number: int, found: Any, text: Callable[[int, Any], bytes]
) -> bytes:
    """Row ``number``'s ``found`` as ``text`` writes it, from ``cache`` when it holds that
    very object (held there, so that no other object can take its id)."""
    kept = cache.get(number)
    if kept is None or kept[0] is not found:
        kept = cache[number] = (found, text(number, found))
    written: bytes = kept[1]
    return written


def _issues_text(number: int, found: list[Issue]) -> bytes:
    return repr((number, [(issue.code, issue.field, issue.message) for issue in found])).encode()


def _changes_text(number: int, found: dict[str, tuple[str, str]]) -> bytes:
    return repr((number, sorted(found.items()))).encode()
