"""`citymeter users` and `citymeter audit` against a real store, errors included."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from citymeter.accounts import service
from citymeter.accounts.models import ApiToken, AuditEntry, User
from citymeter.cli.main import app
from citymeter.db.engine import make_engine
from citymeter.errors import NotAuthenticated
from citymeter.places.models import Area, City
from citymeter.settings import get_settings

runner = CliRunner()
PASSWORD = "a long enough password"


@pytest.fixture
def store(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("CITYMETER_DATABASE_URL", database_url)
    monkeypatch.setenv("COLUMNS", "200")  # wide enough that Rich tables keep whole names
    get_settings.cache_clear()
    yield database_url
    get_settings.cache_clear()


def _run(*args: str, input: str | None = None) -> Any:
    return runner.invoke(app, list(args), input=input, catch_exceptions=False)


def _query(url: str, statement: Any) -> Any:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return session.execute(statement).all()
    finally:
        engine.dispose()


def _count(url: str, model: type[Any]) -> int:
    return int(_query(url, select(func.count()).select_from(model))[0][0])


def _add_district(url: str) -> None:
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        city = City(code="TESTCITY", name="테스트시")
        session.add(city)
        session.flush()
        session.add(Area(city_id=city.id, code="1111000000", level="district", name="종로구"))
    engine.dispose()


def test_add_list_disable_enable(store: str) -> None:
    _add_district(store)
    added = _run("users", "add", "mayor", "--role", "mayor", "--password", PASSWORD)
    assert added.exit_code == 0, added.output
    assert "Added user mayor (mayor)" in added.output
    head = _run(
        "users", "add", "jongno", "--role", "district_head", "--district", "1111000000",
        "--display-name", "Jongno head", "--email", "head@example.org", "--no-password",
    )  # fmt: skip
    assert head.exit_code == 0, head.output
    assert "for district 1111000000" in head.output

    listed = _run("users", "list")
    assert listed.exit_code == 0
    lines = {line.split()[1]: line for line in listed.output.splitlines() if "│" in line}
    assert "district_head" in lines["jongno"] and "1111000000" in lines["jongno"]
    assert "yes" in lines["mayor"] and "Jongno head" in lines["jongno"]

    assert _run("users", "disable", "jongno").exit_code == 0
    assert "│ no" in _run("users", "list").output
    assert _run("users", "enable", "jongno").exit_code == 0
    actions = [row[0] for row in _query(store, select(AuditEntry.action).order_by(AuditEntry.id))]
    assert actions == ["user.create", "user.create", "user.disable", "user.enable"]
    assert [row[0] for row in _query(store, select(AuditEntry.actor).distinct())] == ["cli"]


def test_password_is_asked_when_not_given(store: str) -> None:
    asked = _run("users", "add", "kim", "--role", "official", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert asked.exit_code == 0, asked.output
    assert PASSWORD not in asked.output
    engine = make_engine(store)
    with Session(engine) as session:
        assert service.login(session, "kim", PASSWORD) is not None
    engine.dispose()

    changed = _run("users", "passwd", "kim", input="another password\nanother password\n")
    assert changed.exit_code == 0, changed.output
    engine = make_engine(store)
    with Session(engine) as session:
        assert service.login(session, "kim", "another password") is not None
    engine.dispose()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "king"], "Unknown role 'king'; choose one of: public, mayor, district_head"),
        (["--role", "district_head", "--no-password"], "A district head needs a district"),
        (["--role", "district_head", "--district", "9", "--no-password"], "No area has the code"),
        (["--role", "official", "--password", "short"], "at least 8 characters"),
        (["--role", "official", "--no-password", "--email", "nope"], "e-mail address"),
        (["--role", "official", "--no-password", "--password", PASSWORD], "not both"),
    ],
)
def test_bad_add_exits_1_with_a_message_and_stores_nothing(
    store: str, args: list[str], message: str
) -> None:
    result = _run("users", "add", "newcomer", *args)
    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert _count(store, User) == 0
    assert _count(store, AuditEntry) == 0


def test_duplicate_and_unknown_users_are_clear_errors(store: str) -> None:
    _run("users", "add", "kim", "--role", "official", "--no-password")
    again = _run("users", "add", "kim", "--role", "mayor", "--no-password")
    assert again.exit_code == 1 and "A user named 'kim' already exists." in again.stderr
    assert _count(store, User) == 1
    for args in (["disable", "lee"], ["enable", "lee"], ["passwd", "lee"], ["tokens", "lee"]):
        result = _run("users", *args)
        assert result.exit_code == 1, args
        assert "No user named 'lee'." in result.stderr


def test_tokens_are_printed_once_listed_and_revoked(store: str) -> None:
    _run("users", "add", "feed", "--role", "official", "--no-password")
    made = _run("users", "token", "feed", "--name", "air-sensors", "--days", "30")
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip()
    assert secret.startswith(service.TOKEN_PREFIX) and "\n" not in secret
    assert "not shown again" in made.stderr

    listed = _run("users", "tokens", "feed")
    assert "air-sensors" in listed.output and secret[:10] in listed.output
    assert secret not in listed.output

    bad_days = _run("users", "token", "feed", "--name", "x", "--days", "0")
    assert bad_days.exit_code == 1 and "1 to 3650 days" in bad_days.stderr
    assert _count(store, ApiToken) == 1

    revoked = _run("users", "revoke-token", "feed", "air-sensors")
    assert revoked.exit_code == 0 and "Revoked token air-sensors" in revoked.output
    engine = make_engine(store)
    with Session(engine) as session, pytest.raises(NotAuthenticated, match="not valid"):
        service.user_for_token(session, secret)
    engine.dispose()
    again = _run("users", "revoke-token", "feed", "air-sensors")
    assert again.exit_code == 1 and "no live token" in again.stderr


def test_audit_list(store: str) -> None:
    _run("users", "add", "kim", "--role", "official", "--no-password")
    _run("users", "token", "kim", "--name", "feed")
    listed = _run("audit", "list", "--limit", "10")
    assert listed.exit_code == 0
    assert "user.create" in listed.output and "token.create" in listed.output
    only_one = _run("audit", "list", "--limit", "1")
    assert "token.create" in only_one.output and "user.create" not in only_one.output
    none = _run("audit", "list", "--type", "city")
    assert "user.create" not in none.output
    bad = _run("audit", "list", "--limit", "0")
    assert bad.exit_code == 1 and "--limit" in bad.stderr


def test_commands_on_an_unmigrated_store_say_what_to_do(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CITYMETER_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    get_settings.cache_clear()
    result = _run("users", "list")
    get_settings.cache_clear()
    assert result.exit_code == 1
    assert "citymeter db upgrade" in result.stderr
