"""E-mail templates rendered in a sandbox, invitation tokens, and SMTP delivery.

A template reads the variables of SPEC §7 and nothing else: it runs in Jinja2's immutable
sandbox with strict undefined values, so an unknown variable is an error, never a blank.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from jinja2 import DictLoader, StrictUndefined, Template, TemplateError, TemplateRuntimeError, nodes
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from userbatch.errors import Invalid
from userbatch.i18n import N_, Text, _

VARIABLES = (
    "name", "display_name", "login_id", "email", "group", "set_password_url", "login_url",
    "site_name", "expiration_date", "custom",
)  # fmt: skip
_MAX_REPEAT = 10_000
CANNOT_RENDER = N_("The e-mail template cannot be rendered: {error}")


def _refuse_huge_numbers(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    for value in (*args, *kwargs.values()):
        if isinstance(value, int | float) and abs(value) > _MAX_REPEAT:
            raise TemplateRuntimeError(
                _("Numbers above {limit:,} are not available to filters and methods in an "
                  "e-mail template.", limit=_MAX_REPEAT)
            )  # fmt: skip


def _guarded(function: Any) -> Any:
    @functools.wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _refuse_huge_numbers(args, kwargs)
        return function(*args, **kwargs)

    return guarded


class _Sandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, which also refuses what builds huge values: ``**``, repeating
    a text or list into more than ``_MAX_REPEAT`` items, and numbers above that given to a
    filter or a method (``|center(100000000)``, ``"%*s"|format(...)``)."""

    intercepted_binops = frozenset({"*", "**"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.filters = {name: _guarded(f) for name, f in self.filters.items()}

    def call(self, context: Context, obj: Any, *args: Any, **kwargs: Any) -> Any:
        _refuse_huge_numbers(args, kwargs)
        return super().call(context, obj, *args, **kwargs)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            raise TemplateRuntimeError(
                _("{operator} is not available in an e-mail template.", operator="'**'")
            )
        sized = [value for value in (left, right) if isinstance(value, str | list | tuple)]
        times = [value for value in (left, right) if isinstance(value, int)]
        if sized and times and len(sized[0]) * times[0] > _MAX_REPEAT:
            raise TemplateRuntimeError(
                _("Repeating makes more than {limit:,} characters or items.", limit=_MAX_REPEAT)
            )
        return super().call_binop(context, operator, left, right)


# An empty loader: {% include %} and {% import %} find nothing, and say so.
_ENVIRONMENT = _Sandbox(undefined=StrictUndefined, autoescape=False, loader=DictLoader({}))
# Jinja2's own globals (range, dict, cycler, joiner, lipsum, namespace) are more than a
# template may read: it gets the variables and nothing else.
_ENVIRONMENT.globals.clear()
# Stands in the stored body for the set-password link: its token is made when the mail is
# sent, so the database holds only the token's hash, never a working link.
SET_PASSWORD_URL = "{{set-password-url}}"
# Where the app is (``BASE_URL``): filled in as a message is sent, like the link above.
APP_URL = "{{app-url}}"


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


def render(subject: str, body: str, variables: dict[str, Any]) -> Rendered:
    """Subject and body with ``variables`` filled in; raises a ``UserbatchError`` saying what is
    wrong with the template."""
    filled_subject, filled_body = _filled(subject, variables), _filled(body, variables)
    if filled_subject is not None and filled_body is not None:
        return Rendered(subject=filled_subject.strip(), body=filled_body)
    try:
        return Rendered(
            subject=_compiled(subject).render(variables).strip(),
            body=_compiled(body).render(variables),
        )
    except SecurityError as exc:
        raise Invalid(
            Text("The e-mail template reaches for Python internals, which it may not read: "
                 "{error}", error=str(exc))
        ) from None  # fmt: skip
    except TemplateError as exc:
        raise Invalid(Text(CANNOT_RENDER, error=str(exc))) from None
    except (TypeError, ValueError, ArithmeticError) as exc:
        # An expression of the template itself failed, such as {{ name + 1 }}.
        error = f"{type(exc).__name__}: {exc}"
        raise Invalid(Text(CANNOT_RENDER, error=error)) from None


@functools.lru_cache(maxsize=64)
def _compiled(source: str) -> Template:
    """A template compiled once: a batch renders the same two texts for every new user, and
    compiling them is most of the cost of rendering."""
    return _ENVIRONMENT.from_string(source)


# A part of a plain template: a text as it stands, or a variable (with a custom field's key).
_Part = tuple[str, str | None, str | None]
_MISSING = object()


@functools.lru_cache(maxsize=64)
def _plain(source: str) -> tuple[_Part, ...] | None:
    """The template as texts and variables, when it is nothing more than texts and
    ``{{ variable }}`` or ``{{ custom.key }}`` (what the built-in templates are); None for
    anything else (filters, tests, blocks, expressions), which Jinja renders."""
    try:
        tree = _ENVIRONMENT.parse(source)
    except TemplateError:
        return None
    parts: list[_Part] = []
    for output in tree.body:
        if not isinstance(output, nodes.Output):
            return None
        for node in output.nodes:
            if isinstance(node, nodes.TemplateData):
                parts.append((node.data, None, None))
            elif isinstance(node, nodes.Name) and node.ctx == "load":
                parts.append(("", node.name, None))
            elif (
                isinstance(node, nodes.Getattr)
                and isinstance(node.node, nodes.Name)
                and node.node.name == "custom"
                # A key that names a method of a dict reads the method in Jinja: left to it.
                and not hasattr(dict, node.attr)
            ):
                parts.append(("", "custom", node.attr))
            else:
                return None
    return tuple(parts)


def _filled(source: str, variables: dict[str, Any]) -> str | None:
    """A plain template filled in as Jinja would (each value as ``str`` gives it), once its
    parts are known: a batch fills the same two texts for every new user. None when the
    template is not plain or a variable is missing (Jinja then renders it, or says why not)."""
    parts = _plain(source)
    if parts is None:
        return None
    texts = []
    for text, name, key in parts:
        if name is None:
            texts.append(text)
            continue
        value = variables.get(name, _MISSING)
        if key is not None:
            value = value.get(key, _MISSING) if isinstance(value, dict) else _MISSING
        if value is _MISSING:
            return None
        texts.append(str(value))
    return "".join(texts)


def parse_template(source: str) -> nodes.Template:
    """The syntax tree of a subject or body; raises ``jinja2.TemplateSyntaxError``."""
    return _ENVIRONMENT.parse(source)
