"""The Input field settings screen: which columns the CSV file has, and the custom fields."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from userbatch.admin.field_settings import (
    TYPE_LABELS,
    CustomField,
    FieldChoice,
    FieldInfo,
    add_custom_field,
    edit_custom_field,
    list_fields,
    remove_custom_field,
    save_choices,
)
from userbatch.directory.auth import OperatorInfo
from userbatch.directory.fields import CUSTOM_TYPES
from userbatch.i18n import _
from userbatch.ui import keys
from userbatch.ui.actions import act, show_notice
from userbatch.ui.context import AppContext, app_context
from userbatch.ui.session import current_operator


def render(app: AppContext, operator: OperatorInfo) -> None:
    st.title(_("Input field settings"))
    show_notice(keys.INPUT_FIELDS_NOTICE)
    st.caption(
        _("One CSV column per field in use, in this order. The template download and the check "
          "follow a change at once. Name is always required; Login ID, when in use, is every "
          "user's key — without it Email becomes the required key.")
    )  # fmt: skip
    fields = list_fields(app.engine)
    if not operator.is_admin:
        st.info(_("Only administrators change the input field settings."))
        st.dataframe(_table(fields), hide_index=True, width="stretch")
        return
    _choices(app, operator, fields)
    st.subheader(_("Custom fields"))
    add, edit, remove = st.tabs([_("Add"), _("Edit"), _("Remove")])
    with add:
        _add(app, operator)
    custom = [field for field in fields if field.custom]
    if not custom:
        edit.caption(_("There are no custom fields yet."))
        remove.caption(_("There are no custom fields yet."))
        return
    with edit:
        _edit(app, operator, custom)
    with remove:
        _remove(app, operator, custom)


def _table(fields: list[FieldInfo]) -> pd.DataFrame:
    """The fields under column names in the reader's language (those the grid's edits and
    ``_choices`` read)."""
    return pd.DataFrame(
        {
            _("Order"): range(1, len(fields) + 1),
            _("Field"): [field.label for field in fields],
            _("Japanese label"): [field.japanese or "" for field in fields],
            _("Type"): [_(TYPE_LABELS[field.type]) for field in fields],
            _("Options"): [", ".join(field.options) for field in fields],
            _("In use"): [field.in_use for field in fields],
            _("Required"): [field.required for field in fields],
        }
    )


def _choices(app: AppContext, operator: OperatorInfo, fields: list[FieldInfo]) -> None:
    order_column, in_use, required = _("Order"), _("In use"), _("Required")
    with st.form("field_settings"):
        st.caption(_("Tick In use and Required; change Order numbers to move a field."))
        edited = st.data_editor(
            _table(fields), key=keys.FIELD_CHOICES, hide_index=True, width="stretch",
            disabled=[_("Field"), _("Japanese label"), _("Type"), _("Options")],
            column_config={
                order_column: st.column_config.NumberColumn(min_value=1, step=1, required=True),
            },
        )  # fmt: skip
        if not st.form_submit_button(_("Save settings"), type="primary"):
            return
    # A field given a new number goes before the one that had it: typing 1 moves it to the top.
    numbers = edited[order_column].tolist()
    order = sorted(range(len(fields)), key=lambda i: (numbers[i], numbers[i] == i + 1, i))
    choices = [
        FieldChoice(fields[i].key, bool(edited[in_use].iloc[i]), bool(edited[required].iloc[i]))
        for i in order
    ]
    act(
        lambda: save_choices(app.engine, operator, choices),
        _("Saved the input field settings."),
        notice=keys.INPUT_FIELDS_NOTICE,
        forget=[keys.FIELD_CHOICES],
    )


def _field_form(prefix: str, field: FieldInfo | None = None) -> CustomField:
    """The widgets of a custom field; their keys carry ``prefix`` (and the field's key)."""
    label = st.text_input(_("Label (the column header)"), value=field.label if field else "",
                          max_chars=50, key=f"{prefix}_label")  # fmt: skip
    kind = st.selectbox(
        _("Type"), CUSTOM_TYPES, index=CUSTOM_TYPES.index(field.type) if field else 0,
        format_func=lambda kind: _(TYPE_LABELS[kind]), key=f"{prefix}_type",
    )  # fmt: skip
    options = st.text_area(
        _("Options, one per line (radio buttons, pull-down and checkboxes only)"),
        value="\n".join(field.options) if field else "", key=f"{prefix}_options",
    )  # fmt: skip
    required = st.checkbox(_("Required"), value=field.required if field else False,
                           key=f"{prefix}_required")  # fmt: skip
    return CustomField(
        field.key if field else "", label, kind, tuple(options.splitlines()), required
    )


def _add(app: AppContext, operator: OperatorInfo) -> None:
    with st.form("add_field", clear_on_submit=True):
        key = st.text_input(
            _("Key"), max_chars=40, key=keys.ADD_KEY,
            help=_("Lower-case letters, digits and _; templates read it as {variable}. It cannot "
                   "change later.", variable="{{ custom.<key> }}"),
        )  # fmt: skip
        field = _field_form(keys.NEW_FIELD)
        if st.form_submit_button(_("Add field"), type="primary"):
            new = CustomField(key.strip(), field.label, field.type, field.options, field.required)
            act(
                lambda: add_custom_field(app.engine, operator, new),
                _("Added {label}.", label=field.label),
                notice=keys.INPUT_FIELDS_NOTICE,
                forget=[keys.FIELD_CHOICES],
            )


def _edit(app: AppContext, operator: OperatorInfo, custom: list[FieldInfo]) -> None:
    by_key = {field.key: field for field in custom}
    key = st.selectbox(
        _("Custom field"), list(by_key), format_func=_name(by_key), key=keys.EDIT_FIELD
    )
    with st.form(f"edit_field_{key}"):
        field = _field_form(keys.field_editor(key), by_key[key])
        st.caption(_("Values users already have are kept; the next upload checks them anew."))
        if st.form_submit_button(_("Save field")):
            act(
                lambda: edit_custom_field(app.engine, operator, field),
                _("Saved {label}.", label=field.label),
                notice=keys.INPUT_FIELDS_NOTICE,
                forget=[keys.FIELD_CHOICES],
            )


def _remove(app: AppContext, operator: OperatorInfo, custom: list[FieldInfo]) -> None:
    by_key = {field.key: field for field in custom}
    with st.form("remove_field"):
        key = st.selectbox(_("Custom field"), list(by_key), format_func=_name(by_key),
                           key=keys.REMOVE_FIELD_KEY)  # fmt: skip
        st.caption(
            _("The column disappears from templates and checks. Values users have are kept and "
              "come back if a field with the same key is added again.")
        )  # fmt: skip
        if st.form_submit_button(_("Remove field")):
            label = by_key[key].label
            act(
                lambda: remove_custom_field(app.engine, operator, key),
                _("Removed {label}.", label=label),
                notice=keys.INPUT_FIELDS_NOTICE,
                forget=[keys.FIELD_CHOICES],
            )


def _name(by_key: dict[str, FieldInfo]) -> Callable[[str], str]:
    return lambda key: f"{by_key[key].label} ({key})"


# Streamlit runs this file as the Input field settings screen (app.py).
if __name__ == "__main__":
    _app = app_context()
    _operator = current_operator(_app)
    assert _operator is not None  # app.py lets only signed-in operators reach this screen
    render(_app, _operator)
