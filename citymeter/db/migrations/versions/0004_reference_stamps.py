"""reference stamps: triggers give a table's stamp a new random value on any change of its rows

Revision ID: 0004
Revises: 0003

Read by citymeter.db.reference: a process keeps lookups of cities, areas, service types,
accounts and tokens in memory while the stamps of their tables are unchanged.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The tables, and for two of them the only columns whose update counts (a login or a token's last
# use must not clear every cache). As of this revision; a later one changes its own copy.
_UPDATE_COLUMNS: dict[str, tuple[str, ...] | None] = {
    "city": None,
    "area": None,
    "complaint_service_types": None,
    "app_user": ("username", "role", "city_id", "district_id", "is_active"),
    "api_token": ("user_id", "token_hash", "expires_at", "revoked_at"),
}
_POSTGRES_RANDOM = "floor(random() * 9007199254740991)::bigint"


def _update_of(table: str) -> str:
    columns = _UPDATE_COLUMNS[table]
    return f"UPDATE OF {', '.join(columns)}" if columns else "UPDATE"


def upgrade() -> None:
    op.create_table(
        "reference_stamp",
        sa.Column("table_name", sa.String(length=64), nullable=False),
        sa.Column("stamp", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("table_name", name=op.f("pk_reference_stamp")),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    new_stamp = _POSTGRES_RANDOM if postgres else "random()"
    for table in _UPDATE_COLUMNS:
        # Random from the start: a database recreated at the same address starts on a new stamp.
        op.execute(
            f"INSERT INTO reference_stamp (table_name, stamp) VALUES ('{table}', {new_stamp})"
        )
    if postgres:
        op.execute(
            f"""
            CREATE FUNCTION reference_stamp_renew() RETURNS trigger AS $$
            BEGIN
                UPDATE reference_stamp SET stamp = {_POSTGRES_RANDOM}
                WHERE table_name = TG_TABLE_NAME;
                RETURN NULL;
            END;
            $$ LANGUAGE plpgsql
            """
        )
        for table in _UPDATE_COLUMNS:
            op.execute(
                f"CREATE TRIGGER reference_stamp_{table} "
                f"AFTER INSERT OR {_update_of(table)} OR DELETE OR TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION reference_stamp_renew()"
            )
        return
    for table in _UPDATE_COLUMNS:
        for event in ("INSERT", _update_of(table), "DELETE"):
            name = event.split()[0].lower()
            op.execute(
                f"CREATE TRIGGER reference_stamp_{table}_{name} AFTER {event} ON {table} "
                f"BEGIN UPDATE reference_stamp SET stamp = random() "
                f"WHERE table_name = '{table}'; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in _UPDATE_COLUMNS:
            op.execute(f"DROP TRIGGER reference_stamp_{table} ON {table}")
        op.execute("DROP FUNCTION reference_stamp_renew()")
    else:
        for table in _UPDATE_COLUMNS:
            for name in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER reference_stamp_{table}_{name}")
    op.drop_table("reference_stamp")
