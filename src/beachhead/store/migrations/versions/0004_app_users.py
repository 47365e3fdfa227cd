"""Web app: users, sessions, reps' away state, saved views; inbox indexes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

# the inbox's orders per scope, with closed_at after the scope column (open rows first)
_INBOX = {
    "ix_qualifications_inbox_all": ["closed_at", "priority", "qualified_at", "id"],
    "ix_qualifications_inbox_team": ["team", "closed_at", "priority", "qualified_at", "id"],
    "ix_qualifications_inbox_rep": ["rep", "closed_at", "priority", "qualified_at", "id"],
    "ix_qualifications_inbox_recent": ["closed_at", "qualified_at", "id"],
    "ix_qualifications_inbox_any": ["priority", "qualified_at", "id"],
}


def upgrade() -> None:
    op.create_table(
        "app_users",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("team", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
    )
    op.create_table(
        "app_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("app_users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_app_sessions_user", "app_sessions", ["user_id"])
    op.create_table(
        "rep_away",
        sa.Column("email", sa.String(320), primary_key=True),
        sa.Column("away", sa.Boolean, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("updated_by", sa.String(320), nullable=False),
    )
    op.create_table(
        "saved_views",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "owner_id",
            sa.Integer,
            sa.ForeignKey("app_users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("team", sa.String(200), nullable=True),
        sa.Column("query", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("owner_id", "name", name="uq_saved_views_owner_name"),
    )
    op.create_index("ix_saved_views_team", "saved_views", ["team"])
    for name, cols in _INBOX.items():
        op.create_index(name, "qualifications", cols)


def downgrade() -> None:
    for name in _INBOX:
        op.drop_index(name, table_name="qualifications")
    op.drop_index("ix_saved_views_team", table_name="saved_views")
    op.drop_table("saved_views")
    op.drop_table("rep_away")
    op.drop_index("ix_app_sessions_user", table_name="app_sessions")
    op.drop_table("app_sessions")
    op.drop_table("app_users")
