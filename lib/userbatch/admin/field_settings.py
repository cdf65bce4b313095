"""Changing the input field settings: standard fields in use / required, custom fields.

Only administrators change them: they shape every operator's CSV files. Every change is
checked as a whole and refused with every reason at once, in one transaction; the template
download and the check read the settings anew each time, so they follow at once.

Over 300 lines: the rules of a change (login IDs, e-mail, custom keys, labels, options)
are checked together so that a refusal names every reason at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from userbatch.db import session
from userbatch.directory.auth import OperatorInfo, require_admin
from userbatch.directory.fields import (
    CUSTOM_TYPES,
    DOWNLOAD_ONLY_LABELS,
    MULTI_SEPARATOR,
    STANDARD_LABELS,
    ignored_on_upload,
    normalize_label,
)
from userbatch.errors import Conflict, Invalid, NotFound
from userbatch.i18n import N_, Both, Listing, Sentences, Text
from userbatch.mail.template_check import template_variables
from userbatch.mail.versions import read_templates
from userbatch.models import FieldSetting, User

# The template variable that reads each standard field (the others are read by none).
FIELD_VARIABLES = {
    "login_id": "login_id",
    "name": "name",
    "display_name": "display_name",
    "email": "email",
    "expiration_date": "expiration_date",
    "belong_to": "group",
}
# Standard fields whose "required" cannot be chosen: Name and Login ID always are, a blank
# Password means "keep it" on an update.
FIXED_REQUIRED = {"name": True, "login_id": True, "password": False}
OPTION_TYPES = ("radio", "pulldown", "checkbox")
MAX_LABEL_LENGTH = 50
MAX_OPTION_LENGTH = 100
MAX_OPTIONS = 100
_KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")
# A field's type (a value kept as it is) -> its name for people, a message id.
TYPE_LABELS = {
    "standard": N_("Standard"),
    "text": N_("Text"),
    "textarea": N_("Text area"),
    "radio": N_("Radio buttons"),
    "pulldown": N_("Pull-down"),
    "checkbox": N_("Checkboxes"),
}
# How a template reads a custom field, as the refusals of a bad key show it.
_CUSTOM_VARIABLE = "{{ custom.<key> }}"


@dataclass(frozen=True)
class FieldInfo:
    """One field as the Input field settings screen shows it."""

    key: str
    label: str
    custom: bool
    type: str
    options: tuple[str, ...]
    in_use: bool
    required: bool
    japanese: str | None = None


@dataclass(frozen=True)
class FieldChoice:
    """What the operator chose for one field on the settings screen."""

    key: str
    in_use: bool
    required: bool


@dataclass(frozen=True)
class CustomField:
    """A custom field as it is added or edited."""

    key: str
    label: str
    type: str
    options: tuple[str, ...] = ()
    required: bool = False


def list_fields(engine: Engine) -> list[FieldInfo]:
    """Every field, in order, in use or not."""
    with session(engine) as db:
        settings = db.scalars(select(FieldSetting).order_by(FieldSetting.position)).all()
        return [_info(setting) for setting in settings]


def _info(setting: FieldSetting) -> FieldInfo:
    japanese = None if setting.custom else STANDARD_LABELS[setting.key][1]
    return FieldInfo(
        key=setting.key,
        label=_label(setting),
        custom=setting.custom,
        type=setting.type,
        options=tuple(setting.options),
        in_use=setting.in_use,
        required=setting.required,
        japanese=japanese,
    )


def save_choices(engine: Engine, actor: OperatorInfo, choices: list[FieldChoice]) -> None:
    """Set in use / required for every field, and their order (the order of ``choices``).

    Raises a ``UserbatchError`` with every reason when the choices break a rule: Name off, Login
    ID off while users without an e-mail exist, Email off without Login ID, a field that an
    e-mail template reads switched off.
    """
    with session(engine) as db, db.begin():
        require_admin(db, actor, Text("change the input field settings"))
        settings = {s.key: s for s in db.scalars(select(FieldSetting).with_for_update())}
        if sorted(settings) != sorted(choice.key for choice in choices):
            raise Conflict(Text("The fields changed meanwhile; reload the page and try again."))
        chosen = {choice.key: choice for choice in choices}
        login_ids = chosen["login_id"].in_use
        problems: list[Text] = []
        name = chosen["name"]
        if not (name.in_use and name.required):
            problems.append(Text("Name is always in use and required: every user has a name."))
        if chosen["password"].required:
            problems.append(
                Text("Password cannot be required: a blank password keeps the password.")
            )
        if not login_ids and not chosen["email"].in_use:
            problems.append(
                Text("Email must be in use while Login ID is not: it identifies users.")
            )
        if not login_ids and settings["login_id"].in_use:
            problems += _users_without_email(db)
        switched_off = [key for key, s in settings.items() if s.in_use and not chosen[key].in_use]
        problems += _read_by_templates(db, switched_off, [settings[key] for key in switched_off])
        if problems:
            raise Invalid(Sentences(*problems))
        for position, choice in enumerate(choices):
            setting = settings[choice.key]
            setting.position = position
            setting.in_use = choice.in_use
            setting.required = FIXED_REQUIRED.get(choice.key, choice.required)
            if choice.key == "email" and not login_ids:
                setting.required = True  # without login IDs the e-mail is every user's key


def _users_without_email(db: Session) -> list[Text]:
    missing = User.email_key.is_(None) | (User.email_key == "")
    count = db.scalar(select(func.count()).select_from(User).where(missing)) or 0
    if not count:
        return []
    examples = db.scalars(select(User.login_id).where(missing).order_by(User.login_id).limit(3))
    return [
        Text("Login ID cannot be switched off: {count} user(s) have no e-mail address, which "
             "would then identify them (for example {examples}). Give them one first.",
             count=count, examples=Listing(list(examples)))
    ]  # fmt: skip


def _read_by_templates(
    db: Session, keys: Iterable[str], settings: Iterable[FieldSetting]
) -> list[Text]:
    """Why each of these fields cannot go: the e-mail templates that read it."""
    variables = {key: _variable(setting) for key, setting in zip(keys, settings, strict=True)}
    wanted = {variable for variable in variables.values() if variable}
    if not wanted:
        return []
    readers: dict[str, list[str]] = {}
    for template in sorted(read_templates(db), key=lambda template: template.name):
        texts = [text for v in template.versions for text in (v.subject, v.body)]  # any version
        for variable in template_variables(*texts) & wanted:
            readers.setdefault(variable, []).append(template.name)
    return [
        Text("{label} cannot be switched off or removed: the e-mail template(s) {templates} "
             "use {variable}.", label=_title(setting),
             templates=", ".join(repr(name) for name in readers[variable]),
             variable=_shown_variable(variable))
        for setting, variable in zip(settings, variables.values(), strict=True)
        if variable in readers
    ]  # fmt: skip


def _shown_variable(variable: str) -> str:
    """How a template reads ``variable``: ``{{ name }}``."""
    return "{{ " + variable + " }}"


def _variable(setting: FieldSetting) -> str | None:
    return f"custom.{setting.key}" if setting.custom else FIELD_VARIABLES.get(setting.key)


def _label(setting: FieldSetting) -> str:
    return (setting.label or setting.key) if setting.custom else STANDARD_LABELS[setting.key][0]


def _title(setting: FieldSetting) -> str | Both:
    """The field's name in the reader's language (a custom field's label as it is)."""
    return _label(setting) if setting.custom else Both(*STANDARD_LABELS[setting.key])


def add_custom_field(engine: Engine, actor: OperatorInfo, field: CustomField) -> None:
    """Add a custom field, in use, after the last field.

    Raises a ``UserbatchError`` naming every rule the field breaks.
    """
    with session(engine) as db, db.begin():
        require_admin(db, actor, Text("add custom fields"))
        problems = _key_problems(db, field.key) + _field_problems(db, field)
        if problems:
            raise Invalid(Sentences(*problems))
        last = db.scalar(select(func.max(FieldSetting.position))) or 0
        db.add(
            FieldSetting(
                key=field.key, custom=True, label=field.label.strip(), type=field.type,
                options=_clean_options(field.options), in_use=True, required=field.required,
                position=last + 1,
            )
        )  # fmt: skip


def edit_custom_field(engine: Engine, actor: OperatorInfo, field: CustomField) -> None:
    """Change the label, type, options and required flag of the custom field ``field.key``.

    Values users already have are kept as they are; the next upload checks them anew.
    Raises a ``UserbatchError`` naming every rule the change breaks.
    """
    with session(engine) as db, db.begin():
        require_admin(db, actor, Text("edit custom fields"))
        setting = _custom_setting(db, field.key)
        problems = _field_problems(db, field, editing=field.key)
        if problems:
            raise Invalid(Sentences(*problems))
        setting.label = field.label.strip()
        setting.type = field.type
        setting.options = _clean_options(field.options)
        setting.required = field.required


def remove_custom_field(engine: Engine, actor: OperatorInfo, key: str) -> None:
    """Remove the custom field ``key``; refused while an e-mail template reads it.

    The values users have under this key are kept (adding the key again brings them back).
    """
    with session(engine) as db, db.begin():
        require_admin(db, actor, Text("remove custom fields"))
        setting = _custom_setting(db, key)
        problems = _read_by_templates(db, [key], [setting])
        if problems:
            raise Invalid(Sentences(*problems))
        db.delete(setting)


def _custom_setting(db: Session, key: str) -> FieldSetting:
    setting = db.get(FieldSetting, key, with_for_update=True)
    if setting is None or not setting.custom:
        raise NotFound(Text("There is no custom field with the key '{key}'.", key=key))
    return setting


def _key_problems(db: Session, key: str) -> list[Text]:
    if not _KEY.fullmatch(key):
        return [
            Text("The key '{key}' must start with a lower-case letter and have at most 40 "
                 "lower-case letters, digits or _ (templates read it as {variable}).", key=key,
                 variable=_CUSTOM_VARIABLE)
        ]  # fmt: skip
    taken = key in STANDARD_LABELS or key in DOWNLOAD_ONLY_LABELS
    if taken or db.get(FieldSetting, key) is not None:
        return [Text("The key '{key}' is taken; choose another.", key=key)]
    return []


def _field_problems(db: Session, field: CustomField, *, editing: str | None = None) -> list[Text]:
    problems = []
    label = field.label.strip()
    if not label or len(label) > MAX_LABEL_LENGTH:
        problems.append(Text("The label must have 1–{max} characters.", max=MAX_LABEL_LENGTH))
    elif clash := _label_taken(db, label, editing):
        problems.append(
            Text("The label '{label}' is taken by the column {column}; choose another.",
                 label=label, column=clash)
        )  # fmt: skip
    if field.type not in CUSTOM_TYPES:
        problems.append(Text("The type must be one of {types}.", types=", ".join(CUSTOM_TYPES)))
    problems += _option_problems(field)
    return problems


def _label_taken(db: Session, label: str, editing: str | None) -> str | None:
    """The column that a header ``label`` would be mistaken for, if any."""
    wanted = normalize_label(label)
    taken = {normalize_label(name): name for name in ignored_on_upload()} | {
        normalize_label(name): english
        for english, japanese in STANDARD_LABELS.values()
        for name in (english, japanese)
    }
    for key, other in db.execute(
        select(FieldSetting.key, FieldSetting.label).where(FieldSetting.custom.is_(True))
    ):
        if key != editing and other:
            taken[normalize_label(other)] = other
    return taken.get(wanted)


def _option_problems(field: CustomField) -> list[Text]:
    options = _clean_options(field.options)
    if field.type not in OPTION_TYPES:
        if not options:
            return []
        return [Text("Only radio, pull-down and checkbox fields have options.")]
    problems = []
    if not options:
        problems.append(
            Text("A field of the type {type} needs at least one option.",
                 type=Text(TYPE_LABELS[field.type]))
        )  # fmt: skip
    if len(options) > MAX_OPTIONS:
        problems.append(Text("A field has at most {max} options.", max=MAX_OPTIONS))
    if len(set(options)) != len(options):
        problems.append(Text("Each option must be different."))
    for option in options:
        if MULTI_SEPARATOR in option or len(option) > MAX_OPTION_LENGTH:
            problems.append(
                Text("The option '{option}' must have at most {max} characters and no "
                     "{separator} (it joins several options in a cell).", option=option[:40],
                     max=MAX_OPTION_LENGTH, separator=MULTI_SEPARATOR)
            )  # fmt: skip
    return problems


def _clean_options(options: Iterable[str]) -> list[str]:
    return [option.strip() for option in options if option.strip()]
