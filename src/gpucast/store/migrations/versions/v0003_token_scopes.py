"""Token scopes and expiry (issue 24).

Revision ID: 0003
Revises: 0002

``scopes``: what a token may do, space-separated (read, plan, write, approve, admin); tokens made before this
revision keep every scope (their user's role still limits them, as before). ``expires_at``: null = never.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("scopes", sa.String(length=100), nullable=False, server_default="read plan write approve admin")
        )
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
        batch_op.drop_column("scopes")
