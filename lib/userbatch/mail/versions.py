"""A template's versions: its words in each language it is written in, and how it is read.

A template holds one version per language (``userbatch.i18n.LANGUAGES``, at least one). Where
one version is wanted, the reader's language's is taken, else the one the template has.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Engine, select
from sqlalchemy.orm import Session

from userbatch.db import session
from userbatch.errors import NotFound
from userbatch.i18n import Text, language
from userbatch.models import EmailTemplate
from userbatch.models import EmailTemplateVersion as Version


@dataclass(frozen=True)
class TemplateVersion:
    """A template's words in one language."""

    language: str
    subject: str
    body: str


@dataclass(frozen=True)
class TemplateInfo:
    """A template and its versions, English first: one for each language it is written in."""

    id: int
    name: str
    versions: tuple[TemplateVersion, ...]

    @property
    def languages(self) -> list[str]:
        return [version.language for version in self.versions]

    def version(self, code: str | None = None) -> TemplateVersion:
        """The version in ``code`` (the reader's language when None), else the one it has."""
        wanted = code or language()
        return next((v for v in self.versions if v.language == wanted), self.versions[0])

    @property
    def subject(self) -> str:
        """The subject of ``version()``: in the reader's language, else the one it has."""
        return self.version().subject

    @property
    def body(self) -> str:
        """The body of ``version()``: in the reader's language, else the one it has."""
        return self.version().body


def list_templates(engine: Engine) -> list[TemplateInfo]:
    """Every template, "Invitation" (the default) first, then by name."""
    with session(engine) as db:
        return read_templates(db)


def read_templates(db: Session, *where: ColumnElement[bool]) -> list[TemplateInfo]:
    """The templates ``where`` says, in the order of ``list_templates``, with their versions."""
    rows = db.execute(
        select(EmailTemplate.id, EmailTemplate.name)
        .where(*where)
        .order_by(EmailTemplate.name != "Invitation", EmailTemplate.name, EmailTemplate.id)
    ).all()
    versions: dict[int, list[TemplateVersion]] = {}
    for row in db.execute(
        select(Version.template_id, Version.language, Version.subject, Version.body)
        .where(Version.template_id.in_([row.id for row in rows]))
        .order_by(Version.template_id, Version.language)
    ):
        versions.setdefault(row.template_id, []).append(
            TemplateVersion(row.language, row.subject, row.body)
        )
    return [TemplateInfo(row.id, row.name, tuple(versions.get(row.id, ()))) for row in rows]


def default_template(engine: Engine) -> TemplateInfo:
    """The "Invitation" template (or the first one, if it was renamed); its ``subject`` and
    ``body`` are those of the reader's language, else of the version it has."""
    with session(engine) as db:
        templates = read_templates(db)
    if not templates:
        raise NotFound(Text("There is no e-mail template; create one under E-mail templates."))
    return templates[0]


def template_named(engine: Engine, name: str) -> TemplateInfo:
    """The template called ``name``; raises ``NotFound`` when there is none."""
    with session(engine) as db:
        templates = read_templates(db, EmailTemplate.name == name)
    if not templates:
        raise NotFound(Text("There is no e-mail template named '{name}'.", name=name))
    return templates[0]
