"""Input field settings -> the column specs of the CSV file.

Standard fields carry an English and a Japanese label; custom fields are headed by their own
label. ``load_columns`` returns the columns in use, in order, with their required flags.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from sqlalchemy import Engine, select

from userbatch.db import session
from userbatch.i18n import N_, Both, Sentences, Text, Words
from userbatch.models import FieldSetting

CUSTOM_TYPES = ("text", "textarea", "radio", "pulldown", "checkbox")
MULTI_SEPARATOR = "||"

# key -> (English label, Japanese label), in the default order.
STANDARD_LABELS: dict[str, tuple[str, str]] = {
    "login_id": ("Login ID", "ログインID"),
    "name": ("Name", "氏名"),
    "display_name": ("Display name", "表示名"),
    "email": ("Email", "メールアドレス"),
    "password": ("Password", "パスワード"),
    "department": ("Department", "部署"),
    "position": ("Position", "役職"),
    "status": ("Status", "ステータス"),
    "expiration_date": ("Expiration date", "有効期限"),
    "belong_to": ("Belong to", "所属グループ"),
}
# In downloads only; ignored on upload with one notice per file.
DOWNLOAD_ONLY_LABELS: dict[str, tuple[str, str]] = {
    "first_login": ("First login", "初回ログイン"),
    "created_at": ("Creation date", "作成日時"),
}
# The columns the app's error download (Message) and results download (Result, Message) add;
# ignored on upload too, so that such a file, corrected, can be uploaded again.
RESULT_LABEL, MESSAGE_LABEL = "Result", "Message"
REPORT_LABELS: dict[str, tuple[str, str]] = {
    "result": (RESULT_LABEL, "結果"),
    "message": (MESSAGE_LABEL, "メッセージ"),
}

# What each standard field accepts, for the explanation next to the template download.
RULES: dict[str, str] = {  # message ids, shown through the catalogue
    "login_id": N_(
        "5–30 half-width letters, digits or symbols; unique; the key of each user. "
        "Cannot be changed by CSV (use Edit user)."
    ),
    "name": N_("Required, at most 50 characters."),
    "display_name": N_("Optional, 3–50 characters."),
    "email": N_("A valid e-mail address, unique over all users."),
    "password": N_(
        "Optional. New user: blank means the invitation lets them set one. Update: "
        "blank keeps the password. At least {min_length} characters with a letter and a digit, "
        "not containing the login ID. An argon2 hash ($argon2id$…) is taken as it is."
    ),
    "department": N_("Optional, at most 100 characters."),
    "position": N_("Optional, at most 100 characters."),
    "status": N_(
        "Valid, Invalid or Suspended (有効, 無効, 一時停止). Blank: Valid for a new user, "
        "unchanged for an update."
    ),
    "expiration_date": N_("Optional date, YYYY-MM-DD or YYYY/MM/DD."),
    "belong_to": N_(
        "Group paths separated by ||, parent first with >> (Sales>>Tokyo||Support). "
        "Blank: the working group for a new user, unchanged for an update."
    ),
}


@dataclass(frozen=True)
class ColumnSpec:
    """One column of the CSV file."""

    key: str
    label: str
    required: bool = False
    custom: bool = False
    type: str = "standard"
    options: tuple[str, ...] = ()
    japanese: str | None = None

    @property
    def title(self) -> str | Both:
        """The column's name in the reader's language (a custom field's label as it is)."""
        return Both(self.label, self.japanese) if self.japanese else self.label

    @property
    def labels(self) -> tuple[str, ...]:
        """Every header label that names this column."""
        return (self.label, self.japanese) if self.japanese else (self.label,)

    def rule(self, *, min_password_length: int = 8) -> Words:
        """What the column accepts, in words."""
        if not self.custom:
            return Text(RULES[self.key], min_length=min_password_length)
        required = Text("Required.") if self.required else Text("Optional.")
        options = ", ".join(self.options)
        if self.type in ("radio", "pulldown"):
            return Sentences(required, Text("One of: {options}.", options=options))
        if self.type == "checkbox":
            return Sentences(
                required,
                Text("Any of ({options}), joined with {separator}.", options=options,
                     separator=MULTI_SEPARATOR),
            )  # fmt: skip
        return Sentences(required, Text("Free text."))


def normalize_label(label: str) -> str:
    """How header labels are compared: NFKC, trimmed, case-folded, inner spaces collapsed."""
    return " ".join(unicodedata.normalize("NFKC", label).split()).casefold()


def download_only_columns() -> list[ColumnSpec]:
    return [ColumnSpec(key, en, japanese=ja) for key, (en, ja) in DOWNLOAD_ONLY_LABELS.items()]


def ignored_on_upload() -> list[str]:
    """Every label of the columns an upload ignores (with a notice)."""
    labels = (*DOWNLOAD_ONLY_LABELS.values(), *REPORT_LABELS.values())
    return [label for pair in labels for label in pair]


def columns_from_settings(settings: list[FieldSetting]) -> list[ColumnSpec]:
    """The columns in use, in order. Without login IDs, Email is required (it is the key)."""
    in_use = {s.key for s in settings if s.in_use}
    columns = []
    for setting in sorted(settings, key=lambda s: s.position):
        if not setting.in_use:
            continue
        if setting.custom:
            columns.append(
                ColumnSpec(
                    setting.key,
                    setting.label or setting.key,
                    required=setting.required,
                    custom=True,
                    type=setting.type,
                    options=tuple(setting.options),
                )
            )
            continue
        english, japanese = STANDARD_LABELS[setting.key]
        required = setting.required or (setting.key == "email" and "login_id" not in in_use)
        columns.append(ColumnSpec(setting.key, english, required=required, japanese=japanese))
    return columns


def load_columns(engine: Engine) -> list[ColumnSpec]:
    """The CSV columns for the current input field settings."""
    with session(engine) as db:
        return columns_from_settings(list(db.scalars(select(FieldSetting))))


def login_ids_in_use(columns: list[ColumnSpec]) -> bool:
    return any(column.key == "login_id" for column in columns)


def custom_keys(engine: Engine) -> list[str]:
    """The keys of the custom fields (in use or not: a user keeps the values), in the order
    of the input field settings."""
    with session(engine) as db:
        return list(
            db.scalars(
                select(FieldSetting.key)
                .where(FieldSetting.custom.is_(True))
                .order_by(FieldSetting.position)
            )
        )
