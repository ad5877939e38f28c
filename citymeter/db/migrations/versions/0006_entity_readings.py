"""entity readings: the attribute history packed one row per (entity, time)

entity_attribute_point (a row per value: a rowid, and a unique key on entity, attribute name and
time as text) becomes entity_reading (entity_pk, observed_us, attrs): a row per entity and time,
the time as microseconds since 1970 UTC, the values as one JSON object {attribute: value}, keyed
by (entity_pk, observed_us) and WITHOUT ROWID on SQLite. Every stored value is copied, both ways;
the copy runs in Python so that each float keeps every digit (SQLite's JSON functions round to
15 digits). The roll-ups are unchanged.

Revision ID: 0006
Revises: 0005
"""

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import citymeter.db.base

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)
# Entities copied per round.
_ENTITIES = 200

_points = sa.table(
    "entity_attribute_point",
    sa.column("entity_pk", sa.Integer()),
    sa.column("attr", sa.String()),
    sa.column("observed_at", citymeter.db.base.UTCDateTime(timezone=True)),
    sa.column("value", sa.Float()),
)
_readings = sa.table(
    "entity_reading",
    sa.column("entity_pk", sa.Integer()),
    sa.column("observed_us", sa.BigInteger()),
    sa.column("attrs", sa.Text()),
)


def _entity_chunks(table: Any) -> Iterator[list[int]]:
    pks = list(
        op.get_bind().scalars(sa.select(table.c.entity_pk).distinct().order_by(table.c.entity_pk))
    )
    for start in range(0, len(pks), _ENTITIES):
        yield pks[start : start + _ENTITIES]


def upgrade() -> None:
    op.create_table(
        "entity_reading",
        sa.Column("entity_pk", sa.Integer(), nullable=False),
        sa.Column("observed_us", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("attrs", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entity_pk"],
            ["entity.id"],
            name=op.f("fk_entity_reading_entity_pk_entity"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("entity_pk", "observed_us", name=op.f("pk_entity_reading")),
        sqlite_with_rowid=False,
    )
    bind = op.get_bind()
    for chunk in _entity_chunks(_points):
        rows = bind.execute(
            sa.select(_points.c.entity_pk, _points.c.observed_at, _points.c.attr, _points.c.value)
            .where(_points.c.entity_pk.in_(chunk))
            .order_by(_points.c.entity_pk, _points.c.observed_at, _points.c.attr)
        )
        packed: dict[tuple[int, int], dict[str, float]] = {}
        for entity_pk, at, attr, value in rows:
            packed.setdefault((entity_pk, (at - _EPOCH) // _MICROSECOND), {})[attr] = value
        if packed:
            bind.execute(
                _readings.insert(),
                [
                    {
                        "entity_pk": pk,
                        "observed_us": us,
                        "attrs": json.dumps(values, separators=(",", ":")),
                    }
                    for (pk, us), values in packed.items()
                ],
            )
    op.drop_table("entity_attribute_point")


def downgrade() -> None:
    op.create_table(
        "entity_attribute_point",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("entity_pk", sa.Integer(), nullable=False),
        sa.Column("attr", sa.String(length=100), nullable=False),
        sa.Column("observed_at", citymeter.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entity_pk"],
            ["entity.id"],
            name=op.f("fk_entity_attribute_point_entity_pk_entity"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entity_attribute_point")),
        sa.UniqueConstraint(
            "entity_pk",
            "attr",
            "observed_at",
            name=op.f("uq_entity_attribute_point_entity_pk_attr_observed_at"),
        ),
    )
    bind = op.get_bind()
    for chunk in _entity_chunks(_readings):
        rows = bind.execute(
            sa.select(_readings.c.entity_pk, _readings.c.observed_us, _readings.c.attrs)
            .where(_readings.c.entity_pk.in_(chunk))
            .order_by(_readings.c.entity_pk, _readings.c.observed_us)
        )
        points = [
            {
                "entity_pk": entity_pk,
                "attr": attr,
                "observed_at": _EPOCH + us * _MICROSECOND,
                "value": value,
            }
            for entity_pk, us, text in rows
            for attr, value in json.loads(text).items()
        ]
        if points:
            bind.execute(_points.insert(), points)
    op.drop_table("entity_reading")
