"""usernames unique case-insensitively; field validation hardening

A unique index on ``lower(username)`` (SQLite and PostgreSQL both support indexes on expressions), so
``Admin`` and ``admin`` cannot both exist. An existing database that already holds two names differing
only in case is refused with the names, so that an admin can rename or deactivate one first.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_INDEX = "uq_users_username_lower"


def upgrade() -> None:
    clashes = (
        op.get_bind()
        .execute(
            sa.text(
                "select lower(username) as name, count(*) as n from users "
                "group by lower(username) having count(*) > 1 order by lower(username)"
            )
        )
        .all()
    )
    if clashes:
        names = ", ".join(str(row[0]) for row in clashes)
        raise RuntimeError(
            f"users whose names differ only in case: {names}; rename one of each pair "
            "(user names are compared case-insensitively from this version on), then run the upgrade again"
        )
    op.create_index(_INDEX, "users", [sa.text("lower(username)")], unique=True)


def downgrade() -> None:
    op.drop_index(_INDEX, table_name="users")
