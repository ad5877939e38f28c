"""Reference stamps change with their tables, by any writer, and `ReferenceCache` keeps answers
exactly as long as they hold (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from citymeter.accounts import service as accounts
from citymeter.cli.common import CLI_ACTOR
from citymeter.complaints import service as complaints
from citymeter.db.engine import make_engine, make_sessionmaker
from citymeter.db.reference import STAMPED_TABLES, ReferenceCache, read_stamps
from citymeter.errors import NotAuthenticated
from citymeter.places.service import add_area, create_city, get_city_row


def _stamp(session: Session, table: str) -> int:
    return read_stamps(session)[table]


def test_every_stamped_table_has_a_stamp(db: Session) -> None:
    assert sorted(read_stamps(db)) == sorted(STAMPED_TABLES)


def test_insert_update_and_delete_renew_the_stamp(db: Session) -> None:
    before = _stamp(db, "city")
    city = create_city(db, CLI_ACTOR, code="stampville", name="Stampville")
    after_insert = _stamp(db, "city")
    city.name = "Stamp Town"
    after_update = _stamp(db, "city")  # read_stamps flushes the change first
    db.delete(city)
    after_delete = _stamp(db, "city")
    assert len({before, after_insert, after_update, after_delete}) == 4


def test_a_rolled_back_change_puts_the_old_stamp_back(db: Session) -> None:
    before = _stamp(db, "area")
    with db.begin_nested() as savepoint:
        city = create_city(db, CLI_ACTOR, code="undone", name="Undone")
        add_area(db, CLI_ACTOR, city=city, code="a1", level="district", name="A1")
        assert _stamp(db, "area") != before
        savepoint.rollback()
    assert _stamp(db, "area") == before


def test_logins_and_token_use_leave_the_account_stamps_alone(db: Session) -> None:
    create_city(db, CLI_ACTOR, code="quiet", name="Quiet")
    accounts.create_user(db, CLI_ACTOR, username="quiet-desk", role="official", password=None)
    _token, secret = accounts.create_token(db, CLI_ACTOR, "quiet-desk", "desk")
    db.flush()
    users, tokens = _stamp(db, "app_user"), _stamp(db, "api_token")
    db.execute(
        text("UPDATE app_user SET last_login_at = :t, failed_logins = 3"),
        {"t": dt.datetime(2026, 1, 1)},
    )
    db.execute(text("UPDATE api_token SET last_used_at = :t"), {"t": dt.datetime(2026, 1, 1)})
    assert (_stamp(db, "app_user"), _stamp(db, "api_token")) == (users, tokens)
    db.execute(text("UPDATE api_token SET revoked_at = :t"), {"t": dt.datetime(2026, 1, 1)})
    assert _stamp(db, "api_token") != tokens
    with pytest.raises(NotAuthenticated, match="not valid"):
        accounts.viewer_for_token(db, secret)


def test_deleting_a_user_renews_the_token_stamp_through_the_cascade(db: Session) -> None:
    accounts.create_user(db, CLI_ACTOR, username="leaver", role="official", password=None)
    accounts.create_token(db, CLI_ACTOR, "leaver", "desk")
    db.flush()
    tokens = _stamp(db, "api_token")
    db.execute(text("DELETE FROM app_user WHERE username = 'leaver'"))
    assert db.execute(text("SELECT count(*) FROM api_token")).scalar() == 0
    assert _stamp(db, "api_token") != tokens


def test_the_cache_keeps_an_answer_until_its_table_changes(db: Session) -> None:
    cache: ReferenceCache[str] = ReferenceCache(("city",))
    loads: list[str] = []

    def load(name: str) -> str:
        loads.append(name)
        return name

    assert cache.get(db, "k", lambda: load("first")) == "first"
    assert cache.get(db, "k", lambda: load("second")) == "first"  # kept
    accounts.create_user(db, CLI_ACTOR, username="unrelated", role="official", password=None)
    assert cache.get(db, "k", lambda: load("second")) == "first"  # another table changed
    city = create_city(db, CLI_ACTOR, code="cached", name="Cached")
    assert cache.get(db, "k", lambda: load("third")) == "third"  # its own table changed
    city.name = "Cached City"
    assert cache.get(db, "k", lambda: load("fourth")) == "fourth"
    assert loads == ["first", "third", "fourth"]


def test_an_error_is_not_kept_and_a_full_cache_starts_over(db: Session) -> None:
    cache: ReferenceCache[int] = ReferenceCache(("area",), limit=2)

    def fail() -> int:
        raise LookupError("not there")

    with pytest.raises(LookupError):
        cache.get(db, "k", fail)
    assert cache.get(db, "k", lambda: 1) == 1
    assert cache.get(db, "other", lambda: 2) == 2
    assert cache.get(db, "third", lambda: 3) == 3  # the limit was reached: the rest is dropped
    assert cache.get(db, "k", lambda: 10) == 10
    with pytest.raises(ValueError, match="without a stamp"):
        ReferenceCache(("complaint_requests",))


def test_a_change_committed_elsewhere_is_seen_by_the_next_lookup(engine: Engine) -> None:
    """Two engines on one database stand for two worker processes."""
    factory = make_sessionmaker(engine)
    other = make_engine(engine.url.render_as_string(hide_password=False))
    code = f"w{dt.datetime.now().timestamp():.0f}"
    try:
        with factory() as session:
            city = create_city(session, CLI_ACTOR, code=code, name="Worker City")
            complaints.create_service_type(
                session, CLI_ACTOR, city, code="lamp", name="Lamp", target_hours=24
            )
            session.commit()
            row = get_city_row(session, code)
            assert complaints._service_rule(session, row, "lamp").target_hours == 24  # type: ignore[union-attr]
            session.commit()
        with make_sessionmaker(other)() as elsewhere:
            elsewhere.execute(
                text(
                    "UPDATE complaint_service_types SET target_hours = 6 "
                    "WHERE service_code = 'lamp' AND city_id = :c"
                ),
                {"c": row.id},
            )
            elsewhere.commit()
        with factory() as session:
            rule = complaints._service_rule(session, get_city_row(session, code), "lamp")
            assert rule is not None and rule.target_hours == 6
    finally:
        with factory() as session:
            session.execute(text("DELETE FROM city WHERE code = :c"), {"c": code})
            session.commit()
        other.dispose()
