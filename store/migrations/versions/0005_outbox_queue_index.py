"""outbox: an index over each chat's queue, so claiming reads only the queues' heads

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 06:00:00.000000
"""
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_queue', ['status', 'destination', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_queue')
