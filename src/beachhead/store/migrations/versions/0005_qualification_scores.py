"""Qualification scores: each qualification's entity's current scores, for the inbox.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "qualification_scores",
        sa.Column(
            "qualification_id",
            sa.String(40),
            sa.ForeignKey("qualifications.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("score", sa.String(200), primary_key=True),
        sa.Column("points", sa.Float, nullable=False),
        sa.Column("band", sa.String(10), nullable=True),
    )
    # band filter (then points order) and points order, both per score
    op.create_index(
        "ix_qualification_scores_band",
        "qualification_scores",
        ["score", "band", "points", "qualification_id"],
    )
    op.create_index(
        "ix_qualification_scores_points",
        "qualification_scores",
        ["score", "points", "qualification_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_qualification_scores_points", table_name="qualification_scores")
    op.drop_index("ix_qualification_scores_band", table_name="qualification_scores")
    op.drop_table("qualification_scores")
