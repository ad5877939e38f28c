"""INSERT statements that can take ON CONFLICT: SQLAlchemy builds them per backend."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def conflict_insert(bind: Session | Connection, table: Any) -> postgresql.Insert | sqlite.Insert:
    """`INSERT INTO table` for the backend `bind` talks to, ready for `on_conflict_do_nothing`
    or `on_conflict_do_update` (`table`: a Table or a mapped class)."""
    dialect = bind.get_bind().dialect if isinstance(bind, Session) else bind.dialect
    if dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
