"""Test fixtures: every database test runs on SQLite and again on PostgreSQL.

`db` is a session inside a transaction rolled back after the test. `database_url` is a fresh,
migrated, empty database for tests that open their own connections (CLI, several processes).
PostgreSQL is at CITYMETER_TEST_POSTGRES_URL (default: local server, trust auth, database `test`).
Under CI=true a missing PostgreSQL fails the run instead of skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from citymeter.db import migrate
from citymeter.db.engine import make_engine
from citymeter.settings import Settings
from citymeter.web.app import create_app
from citymeter.web.deps import get_db

POSTGRES_URL = os.environ.get(
    "CITYMETER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
REAL_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgresql),
]


def _postgres_admin() -> Engine:
    engine = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        engine.dispose()
        message = f"PostgreSQL is not reachable at {POSTGRES_URL}: {exc.__class__.__name__}"
        if IN_CI:
            pytest.fail(message + " (CI=true: the PostgreSQL pass must run)")
        pytest.skip(message)
    return engine


def create_database(backend: str, tmp_path: Path) -> tuple[str, object]:
    """A new empty database, migrated to head. Returns its URL and a handle to drop it."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / f'cm-{uuid.uuid4().hex[:8]}.db'}"
        engine = make_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        return url, None
    admin = _postgres_admin()
    name = f"cm_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    return url, (admin, name)


def drop_database(handle: object) -> None:
    if handle is None:
        return
    admin, name = handle  # type: ignore[misc]
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def engine(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    url, handle = create_database(backend, tmp_path_factory.mktemp(backend))
    eng = make_engine(url)
    yield eng
    eng.dispose()
    drop_database(handle)


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    """A session whose commits are savepoints inside one transaction rolled back at the end."""
    connection = engine.connect()
    outer = connection.begin()
    session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # The connector runner stays off: tests drive it themselves (tests/connectors/).
    return Settings(
        data_dir=tmp_path / "data", secret_key="test-secret", max_upload_mb=1, run_connectors=False
    )


@pytest.fixture
def client(db: Session, engine: Engine, settings: Settings) -> Iterator[TestClient]:
    """The app, its requests sharing the test's rolled-back session."""
    app = create_app(settings, engine)

    def _test_db() -> Iterator[Session]:
        yield db
        db.flush()

    app.dependency_overrides[get_db] = _test_db
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A fresh migrated database of the current backend, for code that opens its own connections."""
    url, handle = create_database(backend, tmp_path)
    yield url
    drop_database(handle)


@pytest.fixture
def real_data() -> Path:
    if not REAL_DATA.is_dir():
        pytest.skip(f"real city data not found at {REAL_DATA} (it lives beside the repository)")
    return REAL_DATA
