"""A draft's file in a table of its own: each grid edit updates the draft's row (its edit
count, digest, time), and SQLite writes an updated row whole, the sealed upload with it (a
100k-row file: 16 MB at every edit).

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "draft_files",
        sa.Column("draft_id", sa.Integer(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["draft_id"],
            ["drafts.id"],
            name=op.f("fk_draft_files_draft_id_drafts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("draft_id", name=op.f("pk_draft_files")),
    )
    op.execute("INSERT INTO draft_files (draft_id, sealed) SELECT id, sealed_file FROM drafts")
    # Dropped in place (SQLite 3.35 and later): a rebuilt table would lose its AUTOINCREMENT,
    # and dropping the old one would cascade to the drafts' edits and files.
    op.execute("ALTER TABLE drafts DROP COLUMN sealed_file")


def downgrade() -> None:
    op.add_column("drafts", sa.Column("sealed_file", sa.LargeBinary(), nullable=True))
    op.execute(
        "UPDATE drafts SET sealed_file = "
        "(SELECT sealed FROM draft_files WHERE draft_files.draft_id = drafts.id)"
    )
    op.drop_table("draft_files")
