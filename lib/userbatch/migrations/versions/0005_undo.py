"""Undo: each applied row's before-image, the batch an undo takes back; a draft's choices of
what blank cells do and whether it is a complete list; where an operator hears that their
batches ended. A message kept in the Outbox (no SMTP server) is "kept", no longer "sent".

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("batch_rows", sa.Column("before", sa.JSON(), nullable=True))
    # An undo deletes users; their rows here are set NULL, one look-up each without these.
    op.create_index(op.f("ix_batch_rows_user_id"), "batch_rows", ["user_id"])
    op.create_index(op.f("ix_outbox_user_id"), "outbox", ["user_id"])
    with op.batch_alter_table("batches") as batch_op:
        batch_op.add_column(sa.Column("undo_of", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("deleted", sa.Integer(), nullable=False, server_default="0"))
        batch_op.create_foreign_key(
            op.f("fk_batches_undo_of_batches"), "batches", ["undo_of"], ["id"],
            ondelete="SET NULL",
        )  # fmt: skip
        batch_op.create_unique_constraint(op.f("uq_batches_undo_of"), ["undo_of"])
    op.execute("UPDATE outbox SET state = 'kept' WHERE state = 'sent' AND transport = 'outbox'")
    # Plain ALTER TABLE ADD COLUMN: SQLite's batch mode would copy these tables and lose the
    # AUTOINCREMENT that keeps a discarded draft's id from coming back.
    op.add_column("operators", sa.Column("email", sa.String(length=254), nullable=True))
    op.add_column(
        "operators", sa.Column("notify", sa.Boolean(), nullable=False, server_default=sa.true())
    )
    op.add_column(
        "drafts", sa.Column("blank", sa.String(length=8), nullable=False, server_default="keep")
    )
    op.add_column(
        "drafts", sa.Column("complete", sa.Boolean(), nullable=False, server_default=sa.false())
    )


def downgrade() -> None:
    op.execute("UPDATE outbox SET state = 'sent' WHERE state = 'kept'")
    for table, column in (("operators", "notify"), ("operators", "email"),
                          ("drafts", "complete"), ("drafts", "blank")):  # fmt: skip
        op.drop_column(table, column)
    with op.batch_alter_table("batches") as batch_op:
        batch_op.drop_constraint(op.f("uq_batches_undo_of"), type_="unique")
        batch_op.drop_constraint(op.f("fk_batches_undo_of_batches"), type_="foreignkey")
        batch_op.drop_column("deleted")
        batch_op.drop_column("undo_of")
    op.drop_index(op.f("ix_outbox_user_id"), table_name="outbox")
    op.drop_index(op.f("ix_batch_rows_user_id"), table_name="batch_rows")
    op.drop_column("batch_rows", "before")
