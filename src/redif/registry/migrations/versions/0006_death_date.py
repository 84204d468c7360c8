"""patients.death_date: date of death (any cause), an event of the analysis dataset's PFS and TTNT

The analysis dataset (:mod:`redif.registry.analysis_export`, issue 13) counts death as an event of
progression-free survival and of time to next treatment; the registry had no date of death. The column
is optional (``NULL`` = not known to have died); existing rows are unchanged.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("death_date", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_column("death_date")
