"""Rising topics from complaints (Korean), suggestions and pushed feed posts (English), per city
and district; the public API shows counts only; the ingest route and the CLI."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from citymeter.accounts.permissions import SYSTEM_VIEWER
from citymeter.cli.main import app
from citymeter.complaints import service as complaints
from citymeter.complaints.models import ServiceRequest
from citymeter.db.engine import make_engine, make_sessionmaker
from citymeter.places import service as places
from citymeter.settings import get_settings
from citymeter.suggestions.models import Suggestion
from citymeter.trends import service
from citymeter.trends.models import TextPost
from tests.entities.conftest import box
from tests.trends.conftest import People, SmallCity

AS_OF = dt.date(2026, 3, 15)  # a Sunday; "this week" is 9-15 March, Seoul time
SEOUL = dt.timezone(dt.timedelta(hours=9))


def _at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=SEOUL)


def seed_complaints(db: Session, city: SmallCity) -> None:
    """Four quiet weeks (one parking complaint a week, five about rubbish), then a week with
    twelve parking complaints in the West district."""
    kind = complaints.create_service_type(db, SYSTEM_VIEWER, city.city, code="civil", name="Civil")
    n = 0

    def add(day: dt.date, text: str, district_id: int) -> None:
        nonlocal n
        n += 1
        at = _at(day)
        db.add(
            ServiceRequest(
                city_id=city.city.id,
                service_request_id=f"R-{n}",
                service_type_id=kind.id,
                service_code="civil",
                status="open",
                description=text,
                requested_at=at,
                updated_at=at,
                district_id=district_id,
                attributes={},
            )
        )

    for week in range(1, 5):
        monday = AS_OF - dt.timedelta(days=6 + 7 * week)
        add(monday, "아파트 앞 불법 주차 차량이 있어요", city.west.id)
        for i in range(5):
            add(monday + dt.timedelta(days=i), "쓰레기 무단 투기가 심각합니다", city.east.id)
    for i in range(12):
        day = AS_OF - dt.timedelta(days=i % 7)
        add(day, ["불법 주차 단속 해주세요", "골목에 불법 주차가 너무 많아요"][i % 2], city.west.id)
    for i in range(5):
        add(AS_OF - dt.timedelta(days=i), "쓰레기 무단 투기가 심각합니다", city.east.id)
    # Outside the window: older than the baseline weeks, or after the chosen day.
    add(AS_OF - dt.timedelta(days=60), "불법 주차 불법 주차", city.west.id)
    add(AS_OF + dt.timedelta(days=1), "불법 주차", city.west.id)
    db.flush()


def test_illegal_parking_rises_this_week(db: Session, small_city: SmallCity) -> None:
    seed_complaints(db, small_city)
    report = service.rising(db, small_city.city, as_of=AS_OF, weeks=4)
    assert report.week_start == dt.date(2026, 3, 9) and report.documents == 17
    by_term = {t.term: t for t in report.terms}
    parking = by_term["불법 주차"]
    assert parking.count == 12 and parking.baseline == 1.0 and parking.is_phrase
    assert parking.ratio == pytest.approx(13 / 2)
    assert {"불법", "주차", "단속"} <= set(by_term)
    assert report.terms[0].term in {"불법", "주차", "불법 주차"}
    # Rubbish is steady (five a week before and now): not rising.
    assert "쓰레기" not in by_term and "무단 투기" not in by_term
    # Per district: the rise is West's; East has none.
    west = service.rising(db, small_city.city, district_code="W", as_of=AS_OF)
    assert west.district == "W" and "불법 주차" in {t.term for t in west.terms}
    east = service.rising(db, small_city.city, district_code="E", as_of=AS_OF)
    assert east.terms == [] and east.documents == 5
    # A higher minimum count filters; single kinds can be chosen.
    assert service.rising(db, small_city.city, as_of=AS_OF, min_count=13).terms == []
    only_posts = service.rising(db, small_city.city, as_of=AS_OF, kinds=("posts",))
    assert only_posts.documents == 0


def test_term_series_by_week_and_day(db: Session, small_city: SmallCity) -> None:
    seed_complaints(db, small_city)
    weekly = service.series(
        db,
        small_city.city,
        "불법 주차를",
        start=dt.date(2026, 2, 9),
        end=AS_OF,
    )
    assert weekly.term == "불법 주차"
    assert [(p.isoformat(), c) for p, c in weekly.points] == [
        ("2026-02-09", 1),
        ("2026-02-16", 1),
        ("2026-02-23", 1),
        ("2026-03-02", 1),
        ("2026-03-09", 12),
    ]
    daily = service.series(
        db, small_city.city, "쓰레기", grain="day", start=AS_OF - dt.timedelta(days=6), end=AS_OF
    )
    assert len(daily.points) == 7 and sum(c for _, c in daily.points) == 5
    with pytest.raises(Exception, match="no countable word"):
        service.series(db, small_city.city, "너무")


def test_feed_ingest_and_public_api(
    client: TestClient, db: Session, small_city: SmallCity, people: People
) -> None:
    def post(i: int, day: dt.date, text: str, district: str | None = None) -> dict[str, object]:
        return {
            "source": "city-news",
            "external_id": f"n-{i}",
            "published_at": _at(day).isoformat(),
            "text": text,
            "district": district,
        }

    items = [
        post(i, AS_OF - dt.timedelta(days=i % 5), "Flooding on the riverside road again", "E")
        for i in range(6)
    ]
    items += [
        post(10 + w, AS_OF - dt.timedelta(days=7 * w), "Library opening hours") for w in range(1, 5)
    ]
    anonymous = client.post("/api/v1/trends/posts", json={"items": items})
    assert anonymous.status_code == 401
    refused = client.post(
        "/api/v1/trends/posts", json={"items": items}, headers=people.auth("official")
    )
    assert refused.status_code == 403  # officials do not hold ingest:write
    unknown = client.post(
        "/api/v1/trends/posts",
        json={"items": [*items, post(99, AS_OF, "x", "NOPE")]},
        headers=people.auth("steward"),
    )
    assert unknown.status_code == 422 and "no district 'NOPE'" in unknown.json()["detail"]
    assert db.scalar(select(func.count()).select_from(TextPost)) == 0
    stored = client.post(
        "/api/v1/trends/posts", json={"items": items}, headers=people.auth("steward")
    )
    assert stored.status_code == 201 and stored.json() == {"stored": 10, "duplicates": 0}
    again = client.post(
        "/api/v1/trends/posts", json={"items": items[:3]}, headers=people.auth("steward")
    )
    assert again.json() == {"stored": 0, "duplicates": 3}
    assert db.scalars(select(TextPost).where(TextPost.external_id == "n-0")).one().language == "en"

    # A suggestion about flooding counts too.
    db.add(
        Suggestion(
            city_id=small_city.city.id,
            title="Flooding on the riverside road",
            body="Raise the riverside road.",
            district_id=small_city.east.id,
            created_at=_at(AS_OF),
            updated_at=_at(AS_OF),
        )
    )
    db.flush()
    rising = client.get("/api/v1/trends/rising", params={"as_of": AS_OF.isoformat(), "weeks": 4})
    assert rising.status_code == 200, rising.text
    body = rising.json()
    terms = {t["term"]: t for t in body["terms"]}
    assert terms["riverside road"]["count"] == 7 and terms["riverside road"]["phrase"]
    assert "library" not in terms  # steady: one a week
    assert "Flooding on the riverside road again" not in rising.text  # counts, never texts
    east = client.get(
        "/api/v1/trends/rising", params={"as_of": AS_OF.isoformat(), "district": "E"}
    ).json()
    assert "flooding" in {t["term"] for t in east["terms"]}
    series = client.get(
        "/api/v1/trends/terms/flooding",
        params={"grain": "week", "from": "2026-03-02", "to": AS_OF.isoformat()},
    )
    assert series.status_code == 200
    assert series.json()["series"] == [
        {"period": "2026-03-02", "count": 0},
        {"period": "2026-03-09", "count": 7},
    ]
    assert client.get("/api/v1/trends/rising", params={"weeks": 0}).status_code == 422
    assert client.get("/api/v1/trends/rising", params={"district": "W1"}).status_code == 422
    assert client.get("/api/v1/trends/terms/the").status_code == 422
    assert client.get("/api/v1/trends/rising", params={"kinds": "tweets"}).status_code == 422


def test_cli_rising(database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CITYMETER_DATABASE_URL", database_url)
    get_settings.cache_clear()
    engine = make_engine(database_url)
    with make_sessionmaker(engine)() as session:
        city = places.create_city(session, SYSTEM_VIEWER, code="testville", name="Testville")
        places.add_area(
            session,
            None,
            city=city,
            code="W",
            level="district",
            name="West",
            parent=places.root_area_of(session, city),
            boundary=box(127.0, 37.4, 127.1, 37.6),
        )
        for i in range(4):
            session.add(
                TextPost(
                    city_id=city.id,
                    source="sns",
                    language="ko",
                    published_at=_at(AS_OF - dt.timedelta(days=i)),
                    text="미세먼지 심해요",
                )
            )
        session.commit()
    engine.dispose()
    runner = CliRunner()
    result = runner.invoke(app, ["trends", "rising", "--as-of", AS_OF.isoformat()])
    assert result.exit_code == 0, result.output
    assert "미세먼지" in result.output and "2026-03-09" in result.output
    term = runner.invoke(app, ["trends", "term", "미세먼지", "--grain", "week"])
    assert term.exit_code == 0
    bad = runner.invoke(app, ["trends", "rising", "--as-of", "last week"])
    assert bad.exit_code == 1 and "not a date" in bad.output
    get_settings.cache_clear()
