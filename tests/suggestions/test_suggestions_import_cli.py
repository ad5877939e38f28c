"""CSV import (all or nothing, rejects with reasons) and the `citymeter suggestions` commands."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from citymeter.accounts.permissions import SYSTEM_VIEWER
from citymeter.cli.main import app
from citymeter.db.engine import make_engine, make_sessionmaker
from citymeter.errors import InvalidInput
from citymeter.places import service as places
from citymeter.settings import get_settings
from citymeter.suggestions import importer
from citymeter.suggestions.models import Suggestion
from tests.entities.conftest import box
from tests.suggestions.conftest import SmallCity

GOOD = """번호,제목,내용,분야,구역,위도,경도,등록일,작성자
p-1,공원 벤치 교체,낡은 벤치를 교체해주세요,environment,W,,,2026-03-02 10:00,이영희
p-2,버스 배차 간격,배차 간격이 너무 깁니다,transport,,37.5,127.15,2026-03-03,박철수
"""
BAD = (
    GOOD
    + """p-3,,제목이 없습니다,other,W,,,2026-03-04,
p-4,바다 위 제안,도시 밖 좌표,other,,35.1,129.0,2026-03-05,
p-5,날짜 오류,등록일이 틀림,other,W,,,어제,
"""
)
MAPPING = ["external_id=번호", "title=제목", "body=내용", "category=분야", "area_code=구역"]
MAPPING += ["lat=위도", "lon=경도", "created_at=등록일", "author_name=작성자"]


def _count(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(Suggestion)) or 0


def test_import_stores_all_rows_or_none(db: Session, small_city: SmallCity, tmp_path: Path) -> None:
    mapping = importer.parse_mapping(MAPPING)
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD, encoding="utf-8")
    report = importer.import_csv(db, SYSTEM_VIEWER, small_city.city, bad, mapping=mapping)
    assert report.rows == 5 and report.stored == 0
    reasons = {r.line: r.reason for r in report.rejected}
    assert set(reasons) == {4, 5, 6}
    assert "needs a title" in reasons[4]
    assert "outside Testville" in reasons[5]
    assert "not an ISO date" in reasons[6]
    assert _count(db) == 0

    good = tmp_path / "good.csv"
    good.write_text(GOOD, encoding="utf-8")
    report = importer.import_csv(db, SYSTEM_VIEWER, small_city.city, good, mapping=mapping)
    assert report.stored == 2 and not report.rejected
    rows = {s.external_id: s for s in db.scalars(select(Suggestion))}
    assert rows["p-1"].district_id == small_city.west.id
    assert rows["p-2"].district_id == small_city.east.id
    # Local time of the city (Asia/Seoul) → UTC.
    assert rows["p-1"].created_at.isoformat() == "2026-03-02T01:00:00+00:00"
    assert rows["p-1"].author_name == "이영희" and rows["p-1"].channel == "import"

    with pytest.raises(InvalidInput, match="no column 'title'"):
        importer.import_csv(db, SYSTEM_VIEWER, small_city.city, good)
    with pytest.raises(InvalidInput, match="field=column"):
        importer.parse_mapping(["headline=제목"])


def test_cli_import_list_show_respond(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CITYMETER_DATABASE_URL", database_url)
    get_settings.cache_clear()
    engine = make_engine(database_url)
    with make_sessionmaker(engine)() as session:
        city = places.create_city(session, SYSTEM_VIEWER, code="testville", name="Testville")
        root = places.root_area_of(session, city)
        for code, name, west in (("W", "West", 127.0), ("E", "East", 127.1)):
            places.add_area(
                session,
                None,
                city=city,
                code=code,
                level="district",
                name=name,
                parent=root,
                boundary=box(west, 37.4, west + 0.1, 37.6),
            )
        session.commit()
    engine.dispose()
    runner = CliRunner()
    map_args = [arg for pair in MAPPING for arg in ("--map", pair)]
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD, encoding="utf-8")
    refused = runner.invoke(app, ["suggestions", "import", str(bad), *map_args])
    assert refused.exit_code == 1
    assert "3 of 5 rows rejected; nothing stored" in refused.output
    assert "line 5:" in refused.output
    good = tmp_path / "good.csv"
    good.write_text(GOOD, encoding="utf-8")
    dry = runner.invoke(app, ["suggestions", "import", str(good), "--dry-run", *map_args])
    assert dry.exit_code == 0 and "would store 2" in dry.output
    done = runner.invoke(app, ["suggestions", "import", str(good), *map_args])
    assert done.exit_code == 0 and "Stored 2 suggestions" in done.output, done.output
    listed = runner.invoke(app, ["suggestions", "list"])
    assert listed.exit_code == 0 and "공원 벤치 교체" in listed.output
    assert "2 of 2 suggestions" in listed.output
    row = next(line for line in listed.output.splitlines() if "공원" in line)
    match = re.search(r"(\d+)", row)
    assert match is not None
    sid = match.group(1)
    answered = runner.invoke(
        app,
        [
            "suggestions",
            "respond",
            sid,
            "--text",
            "다음 달 교체합니다.",
            "--outcome",
            "adopted",
            "--responder",
            "공원녹지과",
        ],
    )
    assert answered.exit_code == 0, answered.output
    shown = runner.invoke(app, ["suggestions", "show", sid])
    assert shown.exit_code == 0
    assert "adopted" in shown.output and "공원녹지과" in shown.output
    assert "이영희" in shown.output  # the operator sees the author
    wrong = runner.invoke(
        app, ["suggestions", "respond", sid, "--text", "x", "--outcome", "meh", "--responder", "x"]
    )
    assert wrong.exit_code == 1 and "outcome is one of" in wrong.output
    missing = runner.invoke(app, ["suggestions", "show", "99999"])
    assert missing.exit_code == 1 and "no suggestion 99999" in missing.output
    get_settings.cache_clear()
