"""inbox: acknowledged requests kept until their command has run

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 18:55:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('inbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('command', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox'))
    )


def downgrade() -> None:
    op.drop_table('inbox')
