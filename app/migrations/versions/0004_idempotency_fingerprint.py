"""What an idempotency key stands for: ``jobs.idempotency_fingerprint``, a digest of each part of
the request the key was first used for (``app.api.submit.request_fingerprint``), so a key reused
with another request is refused (422 ``idempotency_key_reused``) instead of answering with the
first job.

Jobs stored before this migration have none: a key of theirs still answers with its job, as
before. A column that ``SqlJobStore`` already created (``metadata.create_all``) is adopted.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    if "idempotency_fingerprint" in {c["name"] for c in sa.inspect(op.get_bind()).get_columns("jobs")}:
        return
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("idempotency_fingerprint", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("idempotency_fingerprint")
