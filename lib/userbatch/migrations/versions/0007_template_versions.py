"""E-mail templates in English and Japanese: a template's subject and body become its version
in one language (guessed: Japanese when they hold Japanese characters, else English), and the
"Invitation" template, still as it was seeded, gets its Japanese version.

Revision ID: 0007
Revises: 0006
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Hiragana, katakana (full- and half-width) and the CJK ideographs.
JAPANESE_CHARACTERS = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff66-\uff9f]")
# The "Invitation" template as 0001 seeded it, and its Japanese version.
INVITATION_SUBJECT = "Welcome to {{ site_name }}"
INVITATION_BODY = """Dear {{ name }},

An account has been created for you on {{ site_name }}.

Login ID: {{ login_id }}

Please set your password here (the link works once):
{{ set_password_url }}

Then sign in at {{ login_url }}
"""
INVITATION_SUBJECT_JA = "{{ site_name }} のアカウントのご案内"
INVITATION_BODY_JA = """{{ name }} 様

{{ site_name }} にあなたのアカウントが作成されました。

ログインID: {{ login_id }}

次のリンクからパスワードを設定してください（リンクは1回だけ使えます）。
{{ set_password_url }}

設定が済んだら、{{ login_url }} からログインしてください。
"""

_templates = sa.table(
    "email_templates",
    sa.column("id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("subject", sa.String),
    sa.column("body", sa.Text),
)
_versions = sa.table(
    "email_template_versions",
    sa.column("template_id", sa.Integer),
    sa.column("language", sa.String),
    sa.column("subject", sa.String),
    sa.column("body", sa.Text),
)


def guess_language(subject: str, body: str) -> str:
    """ "ja" for words with Japanese characters in them, else "en"."""
    return "ja" if JAPANESE_CHARACTERS.search(subject + body) else "en"


def _as_seeded(subject: str, body: str) -> bool:
    """Whether the words are still 0001's Invitation (line ends and outer blanks aside)."""

    def plain(text: str) -> str:
        return text.replace("\r\n", "\n").strip()

    return (plain(subject), plain(body)) == (plain(INVITATION_SUBJECT), plain(INVITATION_BODY))


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(_templates.c.id, _templates.c.name, _templates.c.subject, _templates.c.body)
    ).all()
    # The words are kept aside while the columns go: SQLite's batch mode copies the table,
    # which nothing may reference yet (with foreign keys on, dropping it would cascade).
    with op.batch_alter_table("email_templates") as batch_op:
        batch_op.drop_column("body")
        batch_op.drop_column("subject")
    op.create_table(
        "email_template_versions",
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["template_id"], ["email_templates.id"],
            name=op.f("fk_email_template_versions_template_id_email_templates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("template_id", "language", name=op.f("pk_email_template_versions")),
    )  # fmt: skip
    versions = []
    for row in rows:
        language = guess_language(row.subject, row.body)
        versions.append(
            {"template_id": row.id, "language": language, "subject": row.subject,
             "body": row.body}
        )  # fmt: skip
        # A customised Invitation keeps only its own words: the stock Japanese would differ.
        if row.name == "Invitation" and language == "en" and _as_seeded(row.subject, row.body):
            versions.append(
                {"template_id": row.id, "language": "ja", "subject": INVITATION_SUBJECT_JA,
                 "body": INVITATION_BODY_JA}
            )  # fmt: skip
    if versions:
        bind.execute(_versions.insert(), versions)


def downgrade() -> None:
    bind = op.get_bind()
    # One version a template goes back: the English one, else the Japanese one.
    kept: dict[int, tuple[str, str]] = {}
    for row in bind.execute(
        sa.select(_versions.c.template_id, _versions.c.subject, _versions.c.body).order_by(
            _versions.c.language.desc()
        )
    ):
        kept[row.template_id] = (row.subject, row.body)
    op.drop_table("email_template_versions")
    with op.batch_alter_table("email_templates") as batch_op:
        batch_op.add_column(sa.Column("subject", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("body", sa.Text(), nullable=True))
    for template_id, (subject, body) in kept.items():
        bind.execute(
            _templates.update()
            .where(_templates.c.id == template_id)
            .values(subject=subject, body=body)
        )
    with op.batch_alter_table("email_templates") as batch_op:
        batch_op.alter_column("subject", existing_type=sa.String(length=255), nullable=False)
        batch_op.alter_column("body", existing_type=sa.Text(), nullable=False)
