"""The rules of each column, applied to a whole column of text cells at once.

``check_column`` returns the normalised cells and the problems of the bad ones. Rules that
need other rows or the database (duplicates, existing users, groups) live in
``userbatch.check.judge``.

Over 300 lines: every column's rules of SPEC §4 in one place, sharing the full-width,
length and required helpers, so that a rule and its message are found and changed beside the
others (split by column, each module would be a few lines around shared helpers).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from email_validator import EmailNotValidError, validate_email

from userbatch.check.suggest import closest, looks_scientific, suggest_date
from userbatch.crypto.passwords import is_argon2_hash, password_problems
from userbatch.directory.fields import MULTI_SEPARATOR, ColumnSpec
from userbatch.directory.groups import SEPARATOR as GROUP_SEPARATOR
from userbatch.i18n import N_, Plural, Sentences, Text, did_you_mean

LOGIN_ID_SYMBOLS = "!\"#$%&'()*+,-./:;?[\\]^_`"
_LOGIN_ID = re.compile(r"[A-Za-z0-9" + re.escape(LOGIN_ID_SYMBOLS) + r"]{5,30}")
_LOGIN_ID_CHAR = re.compile(r"[A-Za-z0-9" + re.escape(LOGIN_ID_SYMBOLS) + r"]")
# Addresses of this plain shape are valid; anything else is judged by email-validator.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PLAIN_EMAIL = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+[A-Za-z]{{2,63}}")
_FULL_WIDTH = re.compile(r"[\uff01-\uff5e\u3000]")
_DATE = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})")

STATUSES = {"valid": "Valid", "invalid": "Invalid", "suspended": "Suspended"}
STATUS_ALIASES = {
    "valid": "valid", "invalid": "invalid", "suspended": "suspended",
    "有効": "valid", "無効": "invalid", "一時停止": "suspended",
}  # fmt: skip
TEXT_LIMITS = {
    "name": (1, 50),
    "display_name": (3, 50),
    "department": (0, 100),
    "position": (0, 100),
}
CUSTOM_TEXT_LIMITS = {"text": 1000, "textarea": 10000}


@dataclass(frozen=True)
class CellProblem:
    """A bad cell: its row, the rule's code, the message, and whether it only warns."""

    row: int
    code: str
    message: Text | Sentences  # words made when shown (userbatch.i18n)
    warning: bool = False
    suggestion: str | None = None  # the cell's text that would fix it, when one is known


@dataclass
class ColumnOutcome:
    """What a column's rules give: its cells normalised, and the problems of the bad ones."""

    cells: pd.Series  # normalised text
    problems: list[CellProblem]


@dataclass(frozen=True)
class RuleContext:
    """What the rules need beyond a column: whether login IDs are in use, the password
    policy's minimum length."""

    login_ids_in_use: bool
    min_password_length: int


def shown(cell: str) -> str:
    """A cell as a message quotes it: cut after 40 characters."""
    return cell if len(cell) <= 40 else cell[:37] + "…"


def split_multi(cell: str) -> list[str]:
    """The distinct non-blank parts of a ``||``-joined cell, in order."""
    parts = (part.strip() for part in cell.split(MULTI_SEPARATOR))
    return list(dict.fromkeys(part for part in parts if part))


def normalize_group_path(path: str) -> str:
    """The group path with each group name trimmed (``Sales >> Tokyo`` -> ``Sales>>Tokyo``)."""
    return GROUP_SEPARATOR.join(part.strip() for part in path.split(GROUP_SEPARATOR))


def _full_width(cells: pd.Series, label: object) -> tuple[pd.Series, list[CellProblem]]:
    mask = ~cells.str.isascii()
    if mask.any():
        mask &= cells.str.contains(_FULL_WIDTH)
    if not mask.any():
        return cells, []
    converted = cells[mask].map(lambda cell: unicodedata.normalize("NFKC", cell).strip())
    said = "{label} was typed in full-width characters; it was converted to '{value}'."
    problems = [
        CellProblem(row, "full_width_converted", Text(said, label=label, value=shown(new)), True)
        for row, new in converted.items()
    ]
    cells = cells.copy()
    cells[mask] = converted
    return cells, problems


def _length(cells: pd.Series, label: object, low: int, high: int) -> list[CellProblem]:
    lengths = cells.str.len()
    bad = cells[(lengths > 0) & ((lengths < low) | (lengths > high))]
    problems = []
    for row, cell in bad.items():
        said = {"label": label, "low": low, "high": high, "value": shown(cell), "count": len(cell)}
        if low > 1:
            code = "too_short" if len(cell) < low else "too_long"
            text = Text("{label} must be {low}–{high} characters; '{value}' has {count}.", **said)
        else:
            code = "too_long"
            text = Text("{label} must be at most {high} characters; '{value}' has {count}.", **said)
        problems.append(CellProblem(row, code, text))
    return problems


def _required(cells: pd.Series, label: object, why: Text | None = None) -> list[CellProblem]:
    text = Text("{label} is required.", label=label) if why is None else Text(
        "{label} is required: {why}.", label=label, why=why)  # fmt: skip
    return [CellProblem(row, "required", text) for row in cells.index[cells == ""]]


def _login_id(cells: pd.Series, column: ColumnSpec, ctx: RuleContext) -> ColumnOutcome:
    cells, problems = _full_width(cells, column.title)
    problems += _required(cells, column.title, Text("it identifies the user"))
    problems += _length(cells, column.title, 5, 30)
    bad = cells[(cells != "") & ~cells.str.fullmatch(_LOGIN_ID) & cells.str.len().between(5, 30)]
    for row, cell in bad.items():
        wrong = "".join(dict.fromkeys(ch for ch in cell if not _LOGIN_ID_CHAR.match(ch)))
        problems.append(CellProblem(row, "invalid_characters", Text(
            "{label} may contain only half-width letters, digits and {symbols}; '{value}' "
            "contains {wrong}.", label=column.title, symbols=LOGIN_ID_SYMBOLS,
            value=shown(cell), wrong=repr(wrong),
        )))  # fmt: skip
    return ColumnOutcome(cells, problems)


def login_id_problems(login_id: str) -> list[Text | Sentences]:
    """The messages of what is wrong with one login ID under the CSV's rules (Edit user
    applies them too); empty when it is fine."""
    column = ColumnSpec("login_id", "Login ID", required=True)
    outcome = _login_id(pd.Series([login_id], index=[0], dtype=str), column, RuleContext(True, 8))
    return [problem.message for problem in outcome.problems if not problem.warning]


def _email(cells: pd.Series, column: ColumnSpec, ctx: RuleContext) -> ColumnOutcome:
    cells, problems = _full_width(cells, column.title)
    if column.required:
        why = None if ctx.login_ids_in_use else Text(
            "login IDs are not in use, so it identifies the user"
        )  # fmt: skip
        problems += _required(cells, column.title, why)
    # The plain shape has no length limit; email-validator judges long ones (at most 254).
    unusual = cells[(cells != "") & (~cells.str.fullmatch(_PLAIN_EMAIL) | (cells.str.len() > 254))]
    for row, cell in unusual.items():
        try:
            validate_email(cell, check_deliverability=False)
        except EmailNotValidError as exc:
            problems.append(CellProblem(row, "invalid_email", Text(
                "{label} '{value}' is not a valid e-mail address: {reason}",
                label=column.title, value=shown(cell), reason=_email_reason(exc),
            )))  # fmt: skip
    return ColumnOutcome(cells, problems)


# What email-validator says, in sentences of the catalogue: its own where it says exactly
# one of them, else the kind of fault a part of its words names (its details are English).
_EMAIL_SAID = {
    N_("An email address must have an @-sign."), N_("There must be something before the @-sign."),
    N_("There must be something after the @-sign."),
    N_("An email address cannot have two periods in a row."),
    N_("The part after the @-sign is not valid. It should have a period."),
}  # fmt: skip
_EMAIL_KINDS = [
    ("too long", N_("The email address is too long.")),
    ("before the @-sign", N_("The part before the @-sign is not valid.")),
    ("after the @-sign", N_("The part after the @-sign is not valid.")),
    ("character", N_("The email address contains a character that is not allowed.")),
]


def _email_reason(exc: EmailNotValidError) -> Text:
    said = str(exc)
    if said in _EMAIL_SAID:
        return Text(said)
    kind = next((msgid for part, msgid in _EMAIL_KINDS if part in said), None)
    return Text(kind or N_("It is not written as an e-mail address is."))


def _text(cells: pd.Series, column: ColumnSpec, ctx: RuleContext) -> ColumnOutcome:
    low, high = TEXT_LIMITS[column.key]
    return ColumnOutcome(cells, _length(cells, column.title, max(low, 1), high))


def _password(cells: pd.Series, column: ColumnSpec, ctx: RuleContext) -> ColumnOutcome:
    # Whether it contains the login ID is checked per row, where the login ID is known.
    problems = []
    for row, cell in cells[cells != ""].items():
        if is_argon2_hash(cell):
            continue
        said = password_problems(cell, min_length=ctx.min_password_length, what=column.title)
        problems += [CellProblem(row, "password_policy", problem) for problem in said]
    return ColumnOutcome(cells, problems)


def _maybe(text: Text, suggestion: str | None) -> Text | Sentences:
    return did_you_mean(text, shown(suggestion) if suggestion else None)


def _status(cells: pd.Series, column: ColumnSpec, ctx: RuleContext) -> ColumnOutcome:
    canonical = cells.str.casefold().map(STATUS_ALIASES)
    bad = cells[(cells != "") & canonical.isna()]
    names = [*STATUSES.values(), *(alias for alias in STATUS_ALIASES if not alias.isascii())]
    close = {cell: closest(cell, names) for cell in bad.unique()}
    problems = [
        CellProblem(row, "invalid_status", _maybe(Text(
            "{label} must be Valid, Invalid or Suspended (有効, 無効, 一時停止); '{value}' is "
            "none of them.", label=column.title, value=shown(cell),
        ), close[cell]), suggestion=close[cell])
        for row, cell in bad.items()
    ]  # fmt: skip
    normalized = canonical.map(STATUSES).fillna(cells).where(cells != "", "")
    return ColumnOutcome(normalized.astype(str), problems)


def parse_date(cell: str) -> dt.date | None:
    """The date typed as YYYY-MM-DD or YYYY/MM/DD (month and day may have one digit); None
    for anything else, or a day that does not exist."""
    match = _DATE.fullmatch(cell)
    if not match:
        return None
    try:
        return dt.date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


def _date(cells: pd.Series, column: ColumnSpec, ctx: RuleContext) -> ColumnOutcome:
    filled = cells[cells != ""]
    parsed = filled.map({cell: parse_date(cell) for cell in filled.unique()})  # dates repeat
    bad = cells[parsed.index[parsed.isna()]]
    suggested = {cell: suggest_date(cell) for cell in bad.unique()}
    problems = []
    for row, cell in bad.items():
        found = suggested[cell]
        if found and found[1]:
            problems.append(CellProblem(
                row, "excel_serial_date",
                Text("{label} '{value}' looks like a date that Excel saved as its serial "
                     "number: {number} is {date}. In Excel, format the column as a date "
                     "(yyyy-mm-dd) or as Text before saving the file as CSV.",
                     label=column.title, value=shown(cell), number=cell, date=found[0]),
                suggestion=found[0],
            ))  # fmt: skip
            continue
        problems.append(CellProblem(
            row, "invalid_date",
            _maybe(
                Text("{label} must be a date like 2025-03-31 (or 2025/03/31); '{value}' is not.",
                     label=column.title, value=shown(cell)),
                found[0] if found else None,
            ),
            suggestion=found[0] if found else None,
        ))  # fmt: skip
    good = parsed.dropna()
    return ColumnOutcome(_replace(cells, good.map(dt.date.isoformat)), problems)


def _belong_to(cells: pd.Series, column: ColumnSpec, ctx: RuleContext) -> ColumnOutcome:
    # Whether each group exists and is in scope is checked against the database. Most cells
    # repeat a few texts, so each distinct text is normalised once.
    filled = cells[cells != ""]
    paths = {
        cell: list(dict.fromkeys(map(normalize_group_path, split_multi(cell))))
        for cell in filled.unique()
    }
    empty_names = {
        cell: [path for path in cell_paths if any(not p for p in path.split(GROUP_SEPARATOR))]
        for cell, cell_paths in paths.items()
    }
    bad = filled[filled.isin([cell for cell, found in empty_names.items() if found])]
    problems = [
        CellProblem(row, "invalid_group_path", Text(
            "{label}: '{value}' has an empty group name; write paths like Sales>>Tokyo and "
            "separate groups with ||.", label=column.title, value=shown(path),
        ))
        for row, cell in bad.items()
        for path in empty_names[cell]
    ]  # fmt: skip
    joined = {cell: MULTI_SEPARATOR.join(cell_paths) for cell, cell_paths in paths.items()}
    return ColumnOutcome(_replace(cells, filled.map(joined)), problems)


def _replace(cells: pd.Series, replacements: pd.Series) -> pd.Series:
    """``cells`` with the cells of ``replacements`` (same index, a subset) put in."""
    if replacements.empty:
        return cells
    return cells.mask(cells.index.isin(replacements.index), replacements.reindex(cells.index))


def _custom(cells: pd.Series, column: ColumnSpec, ctx: RuleContext) -> ColumnOutcome:
    problems = []
    normalized = cells
    if column.type in CUSTOM_TEXT_LIMITS:
        problems += _length(cells, column.title, 1, CUSTOM_TEXT_LIMITS[column.type])
    elif column.type in ("radio", "pulldown"):
        options = ", ".join(column.options)
        bad = cells[(cells != "") & ~cells.isin(column.options)]
        close = {cell: closest(cell, column.options) for cell in bad.unique()}
        problems += [
            CellProblem(row, "invalid_option", _maybe(Text(
                "{label} must be one of: {options}; '{value}' is not.", label=column.title,
                options=options, value=shown(cell),
            ), close[cell]), suggestion=close[cell])
            for row, cell in bad.items()
        ]  # fmt: skip
    elif column.type == "checkbox":
        parts = cells[cells != ""].map(split_multi)
        normalized = _replace(cells, parts.map(MULTI_SEPARATOR.join))
        for row, row_parts in parts.items():
            wrong = [part for part in row_parts if part not in column.options]
            if wrong:
                fixed = [
                    part if part in column.options else closest(part, column.options)
                    for part in row_parts
                ]
                suggestion = (
                    MULTI_SEPARATOR.join(dict.fromkeys(p for p in fixed if p))
                    if all(fixed) else None
                )  # fmt: skip
                said = Plural(
                    "{label}: {wrong} is not among the options {options} (join several with ||).",
                    "{label}: {wrong} are not among the options {options} (join several with ||).",
                    len(wrong),
                    label=column.title,
                    wrong=", ".join(repr(w) for w in wrong),
                    options=", ".join(column.options),
                )
                problems.append(CellProblem(row, "invalid_option", _maybe(said, suggestion),
                                            suggestion=suggestion))  # fmt: skip
    return ColumnOutcome(normalized, problems)


# Rules that say in their own words why the column is required; Name always is.
_OWN_REQUIRED = {"login_id", "email"}
_RULES: dict[str, Callable[[pd.Series, ColumnSpec, RuleContext], ColumnOutcome]] = {
    "login_id": _login_id,
    "name": _text,
    "display_name": _text,
    "email": _email,
    "password": _password,
    "department": _text,
    "position": _text,
    "status": _status,
    "expiration_date": _date,
    "belong_to": _belong_to,
}


def check_column(cells: pd.Series, column: ColumnSpec, ctx: RuleContext) -> ColumnOutcome:
    """Apply the rules of ``column`` to its cells (text, trimmed); returns the normalised
    cells and the problems of the bad ones."""
    rule = _custom if column.custom else _RULES[column.key]
    outcome = rule(cells, column, ctx)
    if rule is not _date and column.key != "password":
        outcome.problems.extend(_scientific(cells, column.title))
    if column.key in _OWN_REQUIRED or not (column.required or column.key == "name"):
        return outcome
    return ColumnOutcome(outcome.cells, _required(outcome.cells, column.title) + outcome.problems)


def _scientific(cells: pd.Series, label: object) -> list[CellProblem]:
    """Warnings for cells such as 1.23E+11: digits Excel turned into scientific notation."""
    found = cells[cells.str.contains("E+", case=False, regex=False)]
    said = (
        "{label} '{value}' looks like a long number that Excel turned into scientific "
        "notation, losing its last digits. In Excel, format the column as Text and type the "
        "numbers again (or open the CSV with Data > From Text/CSV, the column as Text) before "
        "saving."
    )
    return [
        CellProblem(row, "excel_scientific_notation", Text(said, label=label, value=shown(cell)),
                    warning=True)
        for row, cell in found.items()
        if looks_scientific(cell)
    ]  # fmt: skip
