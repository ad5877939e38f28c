"""The store, migrations, the audit log's append-only rule and the app's basic behaviour."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from citymeter.accounts import audit
from citymeter.accounts.models import AuditEntry
from citymeter.accounts.permissions import SYSTEM_VIEWER
from citymeter.db import migrate
from citymeter.db.engine import make_engine


def test_migrations_reach_head_and_match_models(engine: Engine) -> None:
    assert migrate.current_revision(engine) == migrate.head_revision()
    assert migrate.pending_model_changes(engine) == []


def test_migrations_downgrade_and_upgrade_again(database_url: str) -> None:
    eng = make_engine(database_url)
    migrate.downgrade(eng, "base")
    assert migrate.current_revision(eng) is None
    migrate.upgrade(eng)
    assert migrate.current_revision(eng) == migrate.head_revision()
    eng.dispose()


def test_sqlite_uses_wal_and_foreign_keys(tmp_path: object) -> None:
    eng = make_engine(f"sqlite:///{tmp_path}/x.db")
    with eng.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    eng.dispose()


def test_audit_log_refuses_update_and_delete(db: Session) -> None:
    entry = audit.record(db, SYSTEM_VIEWER, "test.action", "thing", 1, {"k": "v"})
    db.commit()
    with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
        db.execute(
            text("UPDATE audit_entry SET action = 'forged' WHERE id = :id"), {"id": entry.id}
        )
    with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
        db.execute(text("DELETE FROM audit_entry WHERE id = :id"), {"id": entry.id})
    assert db.get(AuditEntry, entry.id) is not None


def test_healthz_names_the_database(client: TestClient, backend: str) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == backend


def test_unknown_route_is_problem_json(client: TestClient) -> None:
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 404


def test_oversized_body_is_refused_with_413(client: TestClient) -> None:
    response = client.post("/api/v1/anything", content=b"x" * (1024 * 1024 + 1))
    assert response.status_code == 413
    assert "CITYMETER_MAX_UPLOAD_MB" in response.json()["detail"]


def test_openapi_is_served_under_api_v1(client: TestClient) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "CityMeter API"


def test_postgres_url_without_driver_uses_psycopg() -> None:
    eng = make_engine("postgresql://nobody@127.0.0.1:1/none")
    assert eng.url.drivername == "postgresql+psycopg"
    eng.dispose()
    assert create_engine  # the plain factory is still importable for admin tasks
