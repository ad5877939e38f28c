"""The importer on small files: counts, idempotence, undo, dry run, and bad input."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from citymeter.accounts.models import AuditEntry
from citymeter.accounts.permissions import SYSTEM_VIEWER
from citymeter.errors import Conflict, InvalidInput
from citymeter.observations import batches, importer, parallel, service
from citymeter.observations.keys import with_keys
from citymeter.observations.mapping import parse_mapping
from citymeter.observations.models import Breakdown, Observation, ObservationPeriod
from citymeter.places.models import City

from .conftest import MakeCity, store_counts

WIDE = """
name: wide-test
file: {encoding: utf-8}
area: {column: 행정구역, pattern: '\\((?P<code>\\d{10})\\)', unknown: UNKNOWN, skip: ["3600000000"]}
numbers: {invalid: INVALID}
values:
  - header_pattern: '(?P<year>\\d{4})년(?P<month>\\d{2})월_(?P<sex>남|여)_(?P<age>AGES)'
    metric: residents
    unit: persons
    period: {grain: month, from_header: true}
""".replace("AGES", "총인구수|\\d+세|\\d+세 이상")
HEADER = (
    "행정구역,2025년04월_남_총인구수,2025년04월_남_0세,2025년04월_남_100세 이상,"
    "2025년04월_여_총인구수,2025년04월_여_0세,2025년04월_여_100세 이상\n"
)
ROWS = [
    'X도  (3600000000),"1,010",1000,10,"2,020",2000,20',
    "X시  (1111000000),30,20,10,40,30,10",
    "X시  가동(1111051000),10,5,5,20,15,5",
    "X시  나동(1111052000),20,15,5,20,15,5",
]


def mapping(unknown: str = "fail", invalid: str = "fail") -> object:
    return parse_mapping(WIDE.replace("UNKNOWN", unknown).replace("INVALID", invalid))


@pytest.fixture(autouse=True, params=["in-process", "forked-reader"])
def forks(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every test runs with the file read in this process, and read by a forked child process
    (whatever its size); the list collects the pid of each child."""
    forked = request.param == "forked-reader"
    monkeypatch.setattr(parallel, "worth_it", lambda _estimate: forked)
    pids: list[int] = []
    real = parallel.start_reader

    def spy(*args: Any) -> Any:
        started = real(*args)
        pids.append(started[1].pid or 0)
        return started

    monkeypatch.setattr(parallel, "start_reader", spy)
    return pids


@pytest.fixture
def city(make_city: MakeCity) -> City:
    return make_city("x", "1111000000", {"1111051000": "가동", "1111052000": "나동"})


def run(db: Session, city: City, rows: list[str], **options: object) -> importer.ImportReport:
    data = (HEADER + "\n".join(rows) + "\n").encode()
    parsed = options.pop("parsed", None) or mapping(**options)  # type: ignore[arg-type]
    return importer.import_file(
        db, SYSTEM_VIEWER, data=data, file_name="x.csv", mapping=parsed, city=city
    )


def values(db: Session) -> dict[tuple[str, str, str], float]:
    from citymeter.places.models import Area

    rows = db.execute(
        with_keys(select(Area.code, Breakdown.sex, Breakdown.age_band, Observation.value)).join(
            Area, Area.id == Observation.area_id
        )
    ).all()
    return {(code, sex, age): value for code, sex, age, value in rows}


def test_a_wide_file_is_unpivoted_and_every_row_is_accounted_for(db: Session, city: City) -> None:
    report = run(db, city, [*ROWS, ",,,,,,"])
    assert (report.rows_read, report.rows_stored, report.rows_rejected, report.rows_skipped) == (
        5,
        3,
        0,
        2,
    )
    assert report.skipped_by_reason == {"filtered out by the mapping": 1, "blank row": 1}
    assert report.observations == report.written == 18
    stored = values(db)
    assert stored[("1111000000", "male", "total")] == 30
    assert stored[("1111051000", "female", "100+")] == 5
    assert stored[("1111052000", "male", "0")] == 15


def test_a_large_file_is_read_by_a_second_process(
    db: Session, city: City, forks: list[int], request: pytest.FixtureRequest
) -> None:
    report = run(db, city, ROWS)
    forked = "forked-reader" in request.node.callspec.id
    assert len(forks) == (1 if forked else 0)
    assert forks == [] or forks[0] != os.getpid()
    assert report.written == 18 and values(db)[("1111052000", "male", "0")] == 15


def test_an_unexpected_error_while_reading_fails_the_batch(
    db: Session, city: City, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_parser(_spec: object) -> Callable[[object], float]:
        def parse(_cell: object) -> float:
            raise RuntimeError("the number parser is broken")

        return parse

    monkeypatch.setattr(importer, "number_parser", broken_parser)
    before = store_counts(db)
    with pytest.raises(RuntimeError, match="number parser is broken"):
        run(db, city, ROWS)
    assert store_counts(db) == before


def test_a_key_repeated_within_a_file_keeps_its_last_value(db: Session, city: City) -> None:
    again = ROWS[2].replace(",10,5,5,", ",11,5,5,")
    report = run(db, city, [ROWS[1], ROWS[2], again])
    # The repeat rewrites only the one value that differs from the first occurrence.
    assert (report.observations, report.written, report.unchanged) == (18, 13, 5)
    assert values(db)[("1111051000", "male", "total")] == 11
    assert store_counts(db)[0] == 12
    assert report.batch_id is not None
    assert batches.undo_batch(db, SYSTEM_VIEWER, report.batch_id)["removed"] == 12


def test_a_reader_process_that_dies_fails_the_batch(
    db: Session, city: City, monkeypatch: pytest.MonkeyPatch
) -> None:
    def dying_parser(_spec: object) -> Callable[[object], float]:
        def parse(_cell: object) -> float:
            os._exit(3)  # only ever called in the forked reader (worth_it is forced below)

        return parse

    monkeypatch.setattr(parallel, "worth_it", lambda _estimate: True)
    monkeypatch.setattr(importer, "number_parser", dying_parser)
    before = store_counts(db)
    with pytest.raises(RuntimeError, match=r"reading the file stopped \(exit code 3\)"):
        run(db, city, ROWS)
    assert store_counts(db) == before


def test_reimporting_the_same_file_stores_nothing_new(db: Session, city: City) -> None:
    first = run(db, city, ROWS)
    again = run(db, city, ROWS)
    assert (again.written, again.unchanged) == (0, 18)
    assert again.previous_batches == [first.batch_id]
    assert store_counts(db)[0] == 18


def test_undo_removes_a_batch_and_restores_what_it_replaced(db: Session, city: City) -> None:
    first = run(db, city, ROWS)
    changed = [ROWS[0], ROWS[1].replace(",30,20,", ",31,20,"), ROWS[2], ROWS[3]]
    second = run(db, city, changed)
    assert (second.written, second.unchanged) == (1, 17)
    assert values(db)[("1111000000", "male", "total")] == 31
    assert second.batch_id is not None and first.batch_id is not None
    assert batches.undo_batch(db, SYSTEM_VIEWER, second.batch_id) == {
        "observations": 1,
        "removed": 0,
        "restored": 1,
    }
    assert values(db)[("1111000000", "male", "total")] == 30
    counts = batches.undo_batch(db, SYSTEM_VIEWER, first.batch_id)
    assert counts["removed"] == 18
    assert store_counts(db)[0] == 0
    actions = db.scalars(select(AuditEntry.action).where(AuditEntry.object_type == "load_batch"))
    assert list(actions).count("observations.undo") == 2
    with pytest.raises(Conflict, match="undone already"):
        batches.undo_batch(db, SYSTEM_VIEWER, first.batch_id)


def test_a_dry_run_computes_everything_and_stores_nothing(db: Session, city: City) -> None:
    before = store_counts(db)
    report = importer.import_file(
        db,
        SYSTEM_VIEWER,
        data=(HEADER + "\n".join(ROWS)).encode(),
        file_name="x.csv",
        mapping=mapping(),  # type: ignore[arg-type]
        city=city,
        dry_run=True,
    )
    assert report.dry_run and report.batch_id is None
    assert report.written == 18
    assert store_counts(db) == before
    assert service.list_metrics(db, SYSTEM_VIEWER) == []


def test_unknown_areas_fail_the_batch_by_default(db: Session, city: City) -> None:
    before = store_counts(db)
    rows = [*ROWS, "X시  다동(1111053000),1,1,0,1,1,0"]
    with pytest.raises(InvalidInput) as caught:
        run(db, city, rows)
    assert "1111053000" in caught.value.message
    assert "Nothing was stored" in caught.value.message
    assert store_counts(db) == before


def test_unknown_areas_are_rejected_and_listed_when_the_mapping_says_so(
    db: Session, city: City
) -> None:
    rows = [*ROWS, "X시  다동(1111053000),1,1,0,1,1,0"]
    report = run(db, city, rows, unknown="reject")
    assert report.unmatched_areas == ["1111053000"]
    assert report.rows_read == report.rows_stored + report.rows_rejected + report.rows_skipped
    assert report.batch_id is not None
    rejects = batches.list_rejects(db, report.batch_id)
    assert [(r.row_number, r.reason) for r in rejects] == [
        (6, "area not in the city: '1111053000' is not an area of x")
    ]
    assert "다동" in rejects[0].raw


def test_a_value_that_is_not_a_number_fails_the_batch(db: Session, city: City) -> None:
    before = store_counts(db)
    with pytest.raises(InvalidInput, match=r"'12a' is not a number .*row 4"):
        run(db, city, [ROWS[0], ROWS[1], ROWS[2].replace(",5,5,", ",12a,5,")])
    assert store_counts(db) == before


def test_a_value_that_is_not_a_number_can_reject_its_row(db: Session, city: City) -> None:
    report = run(db, city, [ROWS[1], ROWS[2].replace(",5,5,", ",12a,5,")], invalid="reject")
    assert (report.rows_stored, report.rows_rejected) == (1, 1)
    assert report.rejected_by_reason == {"unreadable cell": 1}


def test_a_pattern_that_matches_no_header(db: Session, city: City) -> None:
    before = store_counts(db)
    text = WIDE.replace("UNKNOWN", "fail").replace("INVALID", "fail").replace("남|여", "M|F")
    with pytest.raises(InvalidInput, match="matches no header"):
        run(db, city, ROWS, parsed=parse_mapping(text))
    assert store_counts(db) == before


def test_a_file_in_the_wrong_encoding(db: Session, city: City) -> None:
    before = store_counts(db)
    data = (HEADER + "\n".join(ROWS)).encode("cp949")
    with pytest.raises(InvalidInput, match="does not decode as utf-8"):
        importer.import_file(
            db,
            SYSTEM_VIEWER,
            data=data,
            file_name="x.csv",
            mapping=mapping(),
            city=city,  # type: ignore[arg-type]
        )
    assert store_counts(db) == before


def test_long_format_by_name_with_period_and_breakdown_columns(db: Session, city: City) -> None:
    parsed = parse_mapping(
        """
name: long
area: {match_by: name, column: dong}
values:
  - column: n
    metric: residents
    unit: persons
    period: {grain: year, column: year}
    sex: {column: sex}
    age_band: {column: age}
    dims: {source: survey}
"""
    )
    data = "dong,year,sex,age,n\n가동,2024,M,65+,7\n나동,2024,F,0-4,NA\n".encode()
    report = importer.import_file(
        db, SYSTEM_VIEWER, data=data, file_name="l.csv", mapping=parsed, city=city
    )
    assert (report.rows_stored, report.rows_skipped, report.missing_values) == (1, 1, 1)
    query = with_keys(select(Breakdown, ObservationPeriod.period_start))
    breakdown, start = db.execute(query).one()
    assert (breakdown.sex, breakdown.age_band, breakdown.dims, start.year) == (
        "male",
        "65+",
        "source=survey",
        2024,
    )


def test_a_metric_unit_cannot_change_silently(db: Session) -> None:
    service.ensure_metric(db, SYSTEM_VIEWER, code="pm25", name="PM2.5", unit="µg/m³")
    with pytest.raises(InvalidInput, match="measured in 'µg/m³', not 'mg/m³'"):
        service.ensure_metric(db, SYSTEM_VIEWER, code="pm25", name="PM2.5", unit="mg/m³")
