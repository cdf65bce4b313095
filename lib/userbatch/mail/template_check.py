"""What an e-mail template may read, checked as it is typed.

Every variable a template reads must be one of SPEC §7's, ``custom.<key>`` naming a custom
field, so a mistyped one is reported while editing, never sent as a blank. Only ``custom``
has parts; reading into a value (``{{ name.upper }}``) or at Python internals
(``{{ name.__class__ }}``) is reported too. What this check cannot see, the sandbox of
``mail`` refuses when the template is rendered.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from jinja2 import TemplateSyntaxError, meta, nodes

from userbatch.errors import UserbatchError
from userbatch.i18n import N_, Text, Words, _
from userbatch.mail.invitations import invitation_variables
from userbatch.mail.render import VARIABLES, parse_template, render

MAX_SUBJECT_LENGTH = 255  # the length of the subject columns
_SAMPLE_USER: dict[str, Any] = {
    "name": "Hanako Yamada", "display_name": "Hanako", "login_id": "yamada01",
    "email": "hanako.yamada@example.com", "expiration_date": dt.date(2030, 3, 31),
}  # fmt: skip
_SAMPLE_GROUP = "Sales>>Tokyo"
_OTHER_TEMPLATES = (nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)
SUBJECT, BODY = N_("Subject"), N_("Body")  # the parts a problem is in


@dataclass(frozen=True)
class TemplateProblem:
    """One thing wrong with a template: where (``SUBJECT`` or ``BODY``, and the line) and
    what, shown in the reader's language."""

    part: str
    line: int | None
    message: Words

    def __str__(self) -> str:
        part = _(self.part)
        where = part if self.line is None else _("{part}, line {line}", part=part, line=self.line)
        return f"{where}: {self.message}"


def variable_names(custom_keys: Iterable[str]) -> list[str]:
    """The variables a template may read, as written in it: SPEC §7's, then
    ``custom.<key>`` for each custom field."""
    return [name for name in VARIABLES if name != "custom"] + [f"custom.{k}" for k in custom_keys]


def validate_template(
    subject: str, body: str, *, custom_keys: Iterable[str]
) -> list[TemplateProblem]:
    """Everything wrong with a subject and body: empty parts, syntax errors with their line,
    unknown variables (with a suggestion), reaching into values or Python internals, and
    what fails when the template is rendered with sample values. Empty when it is good."""
    keys = list(custom_keys)
    problems = []
    if not subject.strip():
        problems.append(TemplateProblem(SUBJECT, None, Text("The subject must not be empty.")))
    elif len(subject.strip().splitlines()) > 1:
        problems.append(TemplateProblem(SUBJECT, None, Text("The subject must be one line.")))
    elif len(subject) > MAX_SUBJECT_LENGTH:
        message = Text(
            "The subject has at most {limit} characters; it has {count}.",
            limit=MAX_SUBJECT_LENGTH, count=len(subject),
        )  # fmt: skip
        problems.append(TemplateProblem(SUBJECT, None, message))
    if not body.strip():
        problems.append(TemplateProblem(BODY, None, Text("The body must not be empty.")))
    for part, source in ((SUBJECT, subject), (BODY, body)):
        problems += _source_problems(part, source, keys)
    if problems:
        return problems
    variables = sample_variables(keys, site_name="Acme", base_url="https://example.com")
    for part, pair in ((SUBJECT, (subject, "")), (BODY, ("", body))):
        try:
            render(*pair, variables)
        except UserbatchError as exc:
            problems.append(TemplateProblem(part, None, str(exc)))
    return problems


def template_variables(*sources: str) -> set[str]:
    """The variables the sources read: ``name``, ``custom.<key>``, ... A source that does
    not parse reads nothing (checking it reports the syntax error)."""
    found: set[str] = set()
    for source in sources:
        try:
            tree = parse_template(source)
        except TemplateSyntaxError:
            continue
        undeclared = meta.find_undeclared_variables(tree)
        for node, parent in _walk(tree):
            if not (isinstance(node, nodes.Name) and node.ctx == "load"):
                continue
            if node.name in undeclared and node.name != "custom":
                found.add(node.name)
            elif node.name == "custom" and _reads_part(parent, node) and _attribute(parent):
                found.add(f"custom.{_attribute(parent)}")
    return found


def _source_problems(part: str, source: str, keys: list[str]) -> list[TemplateProblem]:
    try:
        tree = parse_template(source)
    except TemplateSyntaxError as exc:
        return [TemplateProblem(part, exc.lineno, (exc.message or "").rstrip(".") + ".")]
    undeclared = meta.find_undeclared_variables(tree)
    problems: list[TemplateProblem] = []
    internal: set[int] = set()  # a chain into internals is reported once, at its outer end
    for node, parent in _walk(tree):
        message: Text | None = None
        if isinstance(node, nodes.Name) and node.ctx == "load" and node.name in undeclared:
            if node.name == "custom" and not _reads_part(parent, node):
                message = Text(
                    "{custom} alone is no value; write {example}.", custom="{{ custom }}",
                    example="{{ custom.<key> }}",
                )  # fmt: skip
            elif node.name not in VARIABLES:
                message = _unknown(node.name, keys)
        elif isinstance(node, _OTHER_TEMPLATES):
            message = Text("A template cannot include, import or extend other templates.")
        elif isinstance(node, nodes.Getattr | nodes.Getitem):
            attribute = _attribute(node)
            if id(parent) in internal or (attribute or "").startswith("_"):
                if id(parent) not in internal:
                    message = Text(
                        "{expression} reaches for Python internals; a template may read only "
                        "its variables.", expression=_shown(node),
                    )  # fmt: skip
                internal.add(id(node))
            else:
                message = _part_problem(node, attribute, undeclared, keys)
        if message and all(p.message != message for p in problems):
            problems.append(TemplateProblem(part, node.lineno, message))
    return problems


def _walk(node: nodes.Node, parent: nodes.Node | None = None) -> Iterator[tuple[Any, Any]]:
    yield node, parent
    for child in node.iter_child_nodes():
        yield from _walk(child, node)


def _reads_part(parent: nodes.Node | None, node: nodes.Node) -> bool:
    return isinstance(parent, nodes.Getattr | nodes.Getitem) and parent.node is node


def _attribute(node: nodes.Getattr | nodes.Getitem) -> str | None:
    """The attribute or the fixed key read (None for a computed key)."""
    if isinstance(node, nodes.Getattr):
        return node.attr
    value = node.arg.value if isinstance(node.arg, nodes.Const) else None
    return value if isinstance(value, str) else None


def _part_problem(
    node: nodes.Getattr | nodes.Getitem,
    attribute: str | None,
    undeclared: set[str],
    keys: list[str],
) -> Text | None:
    """What is wrong with reading a part of a value: only ``custom`` has parts, one level."""
    base = node.node
    if isinstance(base, nodes.Name) and base.name in undeclared:
        if base.name != "custom":
            return _reaches_into(node, base)
        if attribute is None:
            return Text("{expression}: a custom field is read by its key.", expression=_shown(node))
        return None if attribute in keys else _unknown(f"custom.{attribute}", keys)
    inner = base.node if isinstance(base, nodes.Getattr | nodes.Getitem) else None
    if isinstance(inner, nodes.Name) and inner.name == "custom" and "custom" in undeclared:
        return _reaches_into(node, base)
    # Deeper chains are reported at their inner links; anything else is a value the template
    # made itself (a loop variable), which the sandbox guards.
    return None


def _reaches_into(node: nodes.Node, value: nodes.Node) -> Text:
    return Text(
        "{expression} reaches into {value}; a template reads a variable whole.",
        expression=_shown(node), value=_shown(value),
    )  # fmt: skip


def _shown(node: nodes.Node) -> str:
    """The expression as a template writes it: ``{{ name.upper }}``."""
    return "{{ " + _expression(node) + " }}"


def _expression(node: nodes.Node) -> str:
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Const):
        return repr(node.value)
    if isinstance(node, nodes.Getattr):
        return f"{_expression(node.node)}.{node.attr}"
    if isinstance(node, nodes.Getitem):
        return f"{_expression(node.node)}[{_expression(node.arg)}]"
    return "…"


def _unknown(name: str, keys: list[str]) -> Text:
    variable = "{{ " + name + " }}"
    if name.startswith("custom."):
        key = name.removeprefix("custom.")
        close = [f"custom.{k}" for k in difflib.get_close_matches(key, keys, n=1)]
        if not close:
            return Text(
                "Unknown variable {variable}: no custom field has the key '{key}' (keys: "
                "{keys}).", variable=variable, key=key, keys=", ".join(keys) or Text("none"),
            )  # fmt: skip
    else:
        # A custom field's key written alone is close to custom.<key>.
        candidates = {n: n for n in VARIABLES if n != "custom"} | {k: f"custom.{k}" for k in keys}
        close = [candidates[c] for c in difflib.get_close_matches(name, list(candidates), n=1)]
        if not close:
            return Text(
                "Unknown variable {variable}: see the list of variables.", variable=variable
            )
    return Text(
        "Unknown variable {variable} — did you mean {suggestion}?", variable=variable,
        suggestion="{{ " + close[0] + " }}",
    )  # fmt: skip


def sample_variables(keys: list[str], *, site_name: str, base_url: str) -> dict[str, Any]:
    """The variables of a made-up user in Sales>>Tokyo, with a sample value in each of the
    custom fields ``keys``."""
    user = _SAMPLE_USER | {"custom": {key: f"(sample {key})" for key in keys}}
    return invitation_variables(user, [_SAMPLE_GROUP], site_name=site_name, base_url=base_url)
