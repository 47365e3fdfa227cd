"""Qualifications, their history, stage history, evaluations, routing cursors, lock row.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

OPEN = sa.text("closed_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "qualifications",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("pql", sa.String(200), nullable=False),
        sa.Column("level", sa.String(10), nullable=False),
        sa.Column("entity_id", sa.String(500), nullable=False),
        sa.Column("account_id", sa.String(500), nullable=True),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("qualified_at", sa.DateTime, nullable=False),
        sa.Column("closed_at", sa.DateTime, nullable=True),
        sa.Column("touch", sa.String(10), nullable=False),
        sa.Column("team", sa.String(200), nullable=True),
        sa.Column("rep", sa.String(320), nullable=True),
        sa.Column("evidence", sa.JSON, nullable=False),
        sa.Column("plan_at_qualification", sa.String(200), nullable=True),
        sa.Column("stage_at_qualification", sa.String(200), nullable=True),
        sa.Column("owner", sa.String(320), nullable=True),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_index(
        "ux_qualifications_open",
        "qualifications",
        ["pql", "entity_id"],
        unique=True,
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )
    op.create_index("ix_qualifications_status", "qualifications", ["status"])
    op.create_index(
        "ix_qualifications_pql_entity", "qualifications", ["pql", "entity_id", "closed_at"]
    )
    op.create_index("ix_qualifications_rep", "qualifications", ["rep"])
    op.create_table(
        "qualification_history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "qualification_id",
            sa.String(40),
            sa.ForeignKey("qualifications.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("actor", sa.String(320), nullable=False),
        sa.Column("status_from", sa.String(20), nullable=True),
        sa.Column("status_to", sa.String(20), nullable=False),
        sa.Column("team", sa.String(200), nullable=True),
        sa.Column("rep", sa.String(320), nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("rule", sa.Text, nullable=False),
    )
    op.create_index(
        "ix_qualification_history_q", "qualification_history", ["qualification_id", "id"]
    )
    op.create_table(
        "stage_history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.String(500), nullable=False),
        sa.Column("stage", sa.String(200), nullable=True),
        sa.Column("from_stage", sa.String(200), nullable=True),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("initial", sa.Boolean, nullable=False),
    )
    op.create_index("ix_stage_history_account", "stage_history", ["account_id", "at"])
    op.create_table(
        "account_stages",
        sa.Column("account_id", sa.String(500), primary_key=True),
        sa.Column("stage", sa.String(200), nullable=True),
        sa.Column("since", sa.DateTime, nullable=False),
    )
    op.create_table(
        "evaluations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("as_of", sa.DateTime, nullable=False, unique=True),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
        sa.Column("created", sa.Integer, nullable=False),
        sa.Column("open", sa.Integer, nullable=False),
    )
    op.create_table(
        "routing_cursors",
        sa.Column("team", sa.String(200), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
    )
    lock = op.create_table(
        "lifecycle_lock",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("counter", sa.Integer, nullable=False),
    )
    op.bulk_insert(lock, [{"id": 1, "counter": 0}])


def downgrade() -> None:
    op.drop_table("lifecycle_lock")
    op.drop_table("routing_cursors")
    op.drop_table("evaluations")
    op.drop_table("account_stages")
    op.drop_index("ix_stage_history_account", table_name="stage_history")
    op.drop_table("stage_history")
    op.drop_index("ix_qualification_history_q", table_name="qualification_history")
    op.drop_table("qualification_history")
    for name in (
        "ix_qualifications_rep",
        "ix_qualifications_pql_entity",
        "ix_qualifications_status",
        "ux_qualifications_open",
    ):
        op.drop_index(name, table_name="qualifications")
    op.drop_table("qualifications")
