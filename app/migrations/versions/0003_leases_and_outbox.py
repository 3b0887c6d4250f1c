"""Leases and the outbox (issue 18): ``jobs.lease_holder``, ``lease_token``, ``lease_expires``
(who runs a job, the token its writes carry, when the lease lapses) and ``publish_pending`` (a
queued job with no broker message confirmed sent).

Jobs running when this migration runs have no lease; they are recovered as before (a restart of
the embedded server) and hold a lease once claimed again. Columns that ``SqlJobStore`` already
created (``metadata.create_all``) are adopted as they are.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def _columns() -> list[sa.Column[object]]:
    return [
        sa.Column("lease_holder", sa.String(length=255), nullable=True),
        sa.Column("lease_token", sa.String(length=40), nullable=True),
        sa.Column("lease_expires", sa.Float(), nullable=True),
        sa.Column("publish_pending", sa.Boolean(), nullable=False, server_default=sa.false()),
    ]


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    have = {c["name"] for c in inspector.get_columns("jobs")}
    with op.batch_alter_table("jobs") as batch:
        for column in _columns():
            if column.name not in have:
                batch.add_column(column)
    indexes = {i["name"] for i in inspector.get_indexes("jobs")}
    if "ix_jobs_lease" not in indexes:
        op.create_index("ix_jobs_lease", "jobs", ["status", "lease_expires"], unique=False)
    if "ix_jobs_publish" not in indexes:
        op.create_index("ix_jobs_publish", "jobs", ["publish_pending"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_jobs_publish", table_name="jobs")
    op.drop_index("ix_jobs_lease", table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        for column in reversed(_columns()):
            batch.drop_column(column.name)
