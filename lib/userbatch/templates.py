"""E-mail templates as the pages need them: list, read, save."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select

from userbatch.db import session
from userbatch.errors import PolicyError
from userbatch.mail import render
from userbatch.models import EmailTemplate, utcnow


@dataclass(frozen=True)
class TemplateInfo:
    id: int
    name: str
    subject: str
    body: str


def list_templates(engine: Engine) -> list[TemplateInfo]:
    """Every template, "Invitation" (the default) first, then by name."""
    with session(engine) as db:
        templates = db.scalars(
            select(EmailTemplate).order_by(EmailTemplate.name != "Invitation", EmailTemplate.name)
        ).all()
    return [TemplateInfo(t.id, t.name, t.subject, t.body) for t in templates]


def save_template(engine: Engine, template_id: int, *, subject: str, body: str) -> None:
    """Change a template's subject and body; raises ``PolicyError`` for a broken template."""
    sample = {name: "" for name in ("name", "display_name", "login_id", "email", "group",
              "set_password_url", "login_url", "site_name", "expiration_date")}  # fmt: skip
    render(subject, body, sample | {"custom": _AnyCustom()})
    with session(engine) as db, db.begin():
        template = db.get(EmailTemplate, template_id)
        if template is None:
            raise PolicyError("That e-mail template no longer exists.")
        template.subject, template.body, template.updated_at = subject, body, utcnow()


class _AnyCustom(dict[str, str]):
    """Stands for the custom fields when a template is only being validated."""

    def __missing__(self, key: str) -> str:
        return ""
