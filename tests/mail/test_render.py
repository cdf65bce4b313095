"""A plain template (texts and variables only) is filled in without Jinja, byte for byte as
Jinja renders it; anything else, and any error, is still Jinja's."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import World
from userbatch.db import session
from userbatch.errors import Invalid
from userbatch.mail.render import _compiled, _plain, render
from userbatch.mail.template_check import sample_variables
from userbatch.models import EmailTemplateVersion

VARIABLES: dict[str, Any] = {
    "name": "山田 太郎 <b>&amp;", "display_name": "", "login_id": "yamada0001", "email": "",
    "group": "営業部>>東京", "set_password_url": "{{set-password-url}}",
    "login_url": "https://lms.example.com", "site_name": "Example", "expiration_date": "",
    "custom": {"grade": "3", "items": "not the method", "tags": ["a", "b"], "blank": ""},
}  # fmt: skip
PLAIN = [
    "Dear {{ name }},\n\nLogin ID: {{login_id}}\n", "{{ name }}\n\n", "\n", "", "no variables",
    "{{ custom.grade }}/{{ custom.tags }}/{{ custom.blank }}", "{# a comment #}{{ group }}",
    "  {{- name -}}  \n", "{{ email }}\r\n{{ expiration_date }}\r\n", "{{ set_password_url }}",
    "{% raw %}{{ name }}{% endraw %}",
]  # fmt: skip
NOT_PLAIN = [
    "{{ name|upper }}", "{% if email %}{{ email }}{% else %}-{% endif %}", "{{ custom.items }}",
    "{{ custom['grade'] }}", "{{ 'x' }}", "{{ name ~ login_id }}", "{% for t in custom.tags %}{{ t }}{% endfor %}",
]  # fmt: skip


def _jinja(source: str, variables: dict[str, Any]) -> str:
    return _compiled(source).render(variables)


@pytest.mark.parametrize("source", PLAIN)
def test_a_plain_template_is_filled_as_jinja_renders_it(source: str) -> None:
    assert _plain(source) is not None
    rendered = render(source, source, VARIABLES)
    assert rendered.body == _jinja(source, VARIABLES)
    assert rendered.subject == _jinja(source, VARIABLES).strip()


@pytest.mark.parametrize("source", NOT_PLAIN)
def test_any_other_template_is_jinjas(source: str) -> None:
    assert _plain(source) is None
    assert render(source, source, VARIABLES).body == _jinja(source, VARIABLES)


@pytest.mark.parametrize("source", ["{{ no_such_variable }}", "{{ custom.no_such_key }}"])
def test_a_missing_variable_is_still_an_error(source: str) -> None:
    assert _plain(source) is not None
    with pytest.raises(Invalid, match="no_such"):
        render("Subject", source, VARIABLES)


def test_the_built_in_templates_are_plain_and_filled_as_jinja_renders_them(world: World) -> None:
    with session(world.engine) as db:
        versions = db.scalars(select(EmailTemplateVersion)).all()
    assert {version.language for version in versions} >= {"en", "ja"}
    variables = sample_variables([], site_name="Example", base_url="https://lms.example.com")
    for version in versions:
        assert _plain(version.subject) is not None and _plain(version.body) is not None
        rendered = render(version.subject, version.body, variables)
        assert rendered.body == _jinja(version.body, variables)
        assert rendered.subject == _jinja(version.subject, variables).strip()
