"""observation keys: periods and breakdowns in small tables, a four-integer unique key

An observation's grain and period start move to observation_period, its sex, age band and dims to
observation_breakdown; observation keeps their ids, and its unique key becomes (metric_id,
area_id, period_id, breakdown_id). Existing rows keep their ids, values and batches.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from alembic import op
from alembic.operations import BatchOperations

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEY_COLUMNS = ("grain", "period_start", "sex", "age_band", "dims")
_OLD_KEY = ("metric_id", "area_id", "grain", "period_start", "sex", "age_band", "dims")
_NEW_KEY = ("metric_id", "area_id", "period_id", "breakdown_id")
_TAIL = ("value", "unit", "source_id", "batch_id", "previous_value", "previous_batch_id")
_REPLACED_WHERE = "previous_batch_id IS NOT NULL"


@contextmanager
def _rekeying(old_key: Sequence[str], columns: Sequence[str]) -> Iterator[BatchOperations]:
    """One batch on observation that starts by dropping its unique key on `old_key`. SQLite
    copies the table, with its columns in this order; PostgreSQL alters it in place. The partial
    index is dropped around the batch and made again after it, WHERE clause and all."""
    options: dict[str, Any] = {}
    if op.get_bind().dialect.name == "sqlite":
        options = {"recreate": "always", "partial_reordering": [tuple(columns)]}
    name = _unique_name(old_key)
    op.drop_index("ix_observation_replaced_batch", table_name="observation")
    with op.batch_alter_table("observation", **options) as batch_op:
        batch_op.drop_constraint(name, type_="unique")
        yield batch_op
    op.create_index(
        "ix_observation_replaced_batch",
        "observation",
        ["batch_id"],
        unique=False,
        sqlite_where=sa.text(_REPLACED_WHERE),
        postgresql_where=sa.text(_REPLACED_WHERE),
    )


def _unique_name(columns: Sequence[str]) -> str:
    """The name the store gave the unique constraint on these columns (PostgreSQL shortens
    names longer than 63 characters, so it is read rather than assumed)."""
    for constraint in sa.inspect(op.get_bind()).get_unique_constraints("observation"):
        if tuple(constraint["column_names"]) == tuple(columns) and constraint["name"]:
            return constraint["name"]
    raise RuntimeError(f"observation has no unique constraint on {', '.join(columns)}")


def upgrade() -> None:
    op.create_table(
        "observation_period",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grain", sa.String(length=8), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_observation_period")),
        sa.UniqueConstraint(
            "grain", "period_start", name=op.f("uq_observation_period_grain_period_start")
        ),
    )
    op.create_table(
        "observation_breakdown",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sex", sa.String(length=8), nullable=False),
        sa.Column("age_band", sa.String(length=16), nullable=False),
        sa.Column("dims", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_observation_breakdown")),
        sa.UniqueConstraint(
            "sex", "age_band", "dims", name=op.f("uq_observation_breakdown_sex_age_band_dims")
        ),
    )
    op.execute(
        "INSERT INTO observation_period (grain, period_start) "
        "SELECT DISTINCT grain, period_start FROM observation ORDER BY grain, period_start"
    )
    op.execute(
        "INSERT INTO observation_breakdown (sex, age_band, dims) "
        "SELECT DISTINCT sex, age_band, dims FROM observation ORDER BY sex, age_band, dims"
    )
    with op.batch_alter_table("observation") as batch_op:
        batch_op.add_column(sa.Column("period_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("breakdown_id", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE observation SET "
        "period_id = (SELECT p.id FROM observation_period p WHERE p.grain = observation.grain "
        "AND p.period_start = observation.period_start), "
        "breakdown_id = (SELECT b.id FROM observation_breakdown b WHERE b.sex = observation.sex "
        "AND b.age_band = observation.age_band AND b.dims = observation.dims)"
    )
    with _rekeying(_OLD_KEY, ("id", *_NEW_KEY, *_TAIL)) as batch_op:
        for column in _KEY_COLUMNS:
            batch_op.drop_column(column)
        batch_op.alter_column("period_id", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("breakdown_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_observation_period_id_observation_period"),
            "observation_period",
            ["period_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_observation_breakdown_id_observation_breakdown"),
            "observation_breakdown",
            ["breakdown_id"],
            ["id"],
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_observation_metric_id_area_id_period_id_breakdown_id"), list(_NEW_KEY)
        )


def downgrade() -> None:
    with op.batch_alter_table("observation") as batch_op:
        batch_op.add_column(sa.Column("grain", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("period_start", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("sex", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("age_band", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("dims", sa.String(length=200), nullable=True))
    op.execute(
        "UPDATE observation SET "
        "grain = (SELECT p.grain FROM observation_period p WHERE p.id = observation.period_id), "
        "period_start = (SELECT p.period_start FROM observation_period p "
        "WHERE p.id = observation.period_id), "
        "sex = (SELECT b.sex FROM observation_breakdown b WHERE b.id = observation.breakdown_id), "
        "age_band = (SELECT b.age_band FROM observation_breakdown b "
        "WHERE b.id = observation.breakdown_id), "
        "dims = (SELECT b.dims FROM observation_breakdown b WHERE b.id = observation.breakdown_id)"
    )
    with _rekeying(_NEW_KEY, ("id", *_OLD_KEY, *_TAIL)) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_observation_period_id_observation_period"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_observation_breakdown_id_observation_breakdown"), type_="foreignkey"
        )
        batch_op.drop_column("period_id")
        batch_op.drop_column("breakdown_id")
        batch_op.alter_column("grain", existing_type=sa.String(length=8), nullable=False)
        batch_op.alter_column("period_start", existing_type=sa.Date(), nullable=False)
        batch_op.alter_column("sex", existing_type=sa.String(length=8), nullable=False)
        batch_op.alter_column("age_band", existing_type=sa.String(length=16), nullable=False)
        batch_op.alter_column("dims", existing_type=sa.String(length=200), nullable=False)
        batch_op.create_unique_constraint(
            batch_op.f("uq_observation_metric_id_area_id_grain_period_start_sex_age_band_dims"),
            list(_OLD_KEY),
        )
    op.drop_table("observation_breakdown")
    op.drop_table("observation_period")
