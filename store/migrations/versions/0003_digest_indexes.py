"""digest indexes

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 18:10:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

# Must stay the expressions of store.models.open_due and open_since, token for token: the database uses an
# index on an expression only for a query that spells the same expression.
OPEN_DUE = ("CASE WHEN (status IN ('new', 'open', 'waiting')) THEN CASE WHEN (first_response_at IS NULL "
            "AND first_response_due IS NOT NULL AND (resolution_due IS NULL OR first_response_due <= "
            "resolution_due)) THEN first_response_due ELSE resolution_due END END")
OPEN_SINCE = "CASE WHEN (status IN ('new', 'open', 'waiting')) THEN created_at END"
# Instants are indexed only where set (a new ticket has none); every ticket has its deadlines.
INSTANTS = ('first_response_at', 'resolved_at', 'closed_at')
DEADLINES = ('first_response_due', 'resolution_due')
REOPENED = sa.text("action = 'reopened'")


def upgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        for column in INSTANTS:
            only_set = sa.text(f'{column} IS NOT NULL')
            batch_op.create_index(f'ix_tickets_{column}', [column], unique=False, sqlite_where=only_set,
                                  postgresql_where=only_set)
        for column in DEADLINES:
            batch_op.create_index(f'ix_tickets_{column}', [column], unique=False)
        batch_op.drop_index('ix_tickets_status_group')
        batch_op.create_index('ix_tickets_status_group_assignee', ['status', 'group_key', 'assignee_id'],
                              unique=False)
    # PostgreSQL wants an indexed expression in its own parentheses; SQLite accepts them.
    for name, expression, more in (('ix_tickets_open_due', OPEN_DUE, ['group_key', 'number']),
                                   ('ix_tickets_open_since', OPEN_SINCE, [])):
        only_open = sa.text(f'({expression}) IS NOT NULL')
        op.create_index(name, 'tickets', [sa.text(f'({expression})'), *more], unique=False,
                        sqlite_where=only_open, postgresql_where=only_open)
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index('ix_audit_events_reopened_at', ['at'], unique=False, sqlite_where=REOPENED,
                              postgresql_where=REOPENED)


def downgrade() -> None:
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_reopened_at')
    op.drop_index('ix_tickets_open_since', table_name='tickets')
    op.drop_index('ix_tickets_open_due', table_name='tickets')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_status_group_assignee')
        batch_op.create_index('ix_tickets_status_group', ['status', 'group_key'], unique=False)
        for column in DEADLINES + INSTANTS:
            batch_op.drop_index(f'ix_tickets_{column}')
