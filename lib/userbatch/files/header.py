"""The header row -> the columns in use: labels matched to fields, in English or Japanese.

Unknown, unnamed and duplicate columns and missing required ones are file errors, reported
together; columns of download-only fields (First login, Creation date) are ignored with a
notice; a standard field that is switched off may stay as a column while its cells are
blank.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from userbatch.directory.fields import (
    STANDARD_LABELS,
    ColumnSpec,
    ignored_on_upload,
    normalize_label,
)
from userbatch.errors import BadHeader
from userbatch.i18n import Listing, Plural, Text, Words, did_you_mean

# A header's unknown columns are named up to this many; the rest are counted.
MAX_COLUMNS_NAMED = 10


@dataclass
class Header:
    """The columns a header row maps to fields, and where they are in each row."""

    columns: list[ColumnSpec]
    labels: list[str]  # the header labels of ``columns``, as written
    positions: list[int]  # cell index of each used column
    width: int  # cells up to the last labelled one
    notices: list[Words]
    # Columns of standard fields that are switched off: allowed while their cells are blank.
    unused: dict[int, str] = field(default_factory=dict)


def map_header(header: list[str], columns: list[ColumnSpec]) -> Header:
    """The columns in use (``columns``) that the header row's labels name, in file order.

    Raises ``BadHeader`` listing every unknown, unnamed or duplicate column and every
    missing required one.
    """
    labels = [cell.strip() for cell in header]
    width = max((i + 1 for i, label in enumerate(labels) if label), default=0)
    known = {normalize_label(label): column for column in columns for label in column.labels}
    ignored = {normalize_label(label) for label in ignored_on_upload()}
    in_use = {column.key for column in columns}
    not_in_use = {
        normalize_label(label): english
        for key, (english, japanese) in STANDARD_LABELS.items()
        if key not in in_use
        for label in (english, japanese)
    }
    suggestions = [label for column in columns for label in column.labels]

    problems: list[tuple[str, Words]] = []
    unknown = 0  # columns no field has; the first ones are named
    used = Header([], [], [], width, [])
    seen: dict[str, str] = {}
    ignored_found = []
    for position, label in enumerate(labels[:width]):
        name = normalize_label(label)
        if not label or (name not in known and name not in ignored and name not in not_in_use):
            unknown += 1
            if unknown <= MAX_COLUMNS_NAMED:
                problems.append(("unknown_column", _unknown_column(position, label, suggestions)))
        elif name in known:
            column = known[name]
            if column.key in seen:
                problems.append(
                    (
                        "duplicate_column",
                        Text(
                            "The column '{label}' appears twice (also as '{other}'). Keep one "
                            "of them.",
                            label=label,
                            other=seen[column.key],
                        ),
                    )
                )
                continue
            seen[column.key] = label
            used.columns.append(column)
            used.labels.append(label)
            used.positions.append(position)
        elif name in ignored:
            ignored_found.append(label)
        else:
            used.unused[position] = label
    if unknown > MAX_COLUMNS_NAMED:
        problems.append((
            "unknown_column",
            Text("And {count:,} more columns are unknown or have no header.",
                 count=unknown - MAX_COLUMNS_NAMED),
        ))  # fmt: skip
    for column in columns:
        if column.required and column.key not in seen:
            problems.append((
                "missing_column",
                Text("The required column '{label}' is missing.", label=column.title),
            ))  # fmt: skip
    if problems:
        raise BadHeader(problems)
    if ignored_found:
        used.notices.append(
            Plural("{labels} is not imported; the values in that column are ignored.",
                   "{labels} are not imported; the values in those columns are ignored.",
                   len(ignored_found), labels=Listing(ignored_found))
        )  # fmt: skip
    return used


def _unknown_column(position: int, label: str, suggestions: list[str]) -> Words:
    if not label:
        return Text("Column {number} has no header. Name it or delete it.", number=position + 1)
    close = difflib.get_close_matches(label, suggestions, n=1, cutoff=0.6)
    unknown = Text("The column '{label}' is unknown.", label=label[:100])
    return did_you_mean(unknown, close[0] if close else None)
