"""The indicator API: definitions, values with disclosure control, ranking, exports, coverage,
checks and the pledge board."""

from __future__ import annotations

import csv
import datetime as dt
import io

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from citymeter.accounts import service as accounts
from citymeter.accounts.permissions import SYSTEM_VIEWER
from citymeter.indicators import engine, pledges
from citymeter.places.models import City

from .conftest import Store, labour_rows, months


def _token(db: Session, role: str) -> dict[str, str]:
    accounts.create_user(db, SYSTEM_VIEWER, username=f"ind-{role}", role=role, password=None)
    _row, secret = accounts.create_token(db, SYSTEM_VIEWER, f"ind-{role}", "indicator tests")
    return {"Authorization": f"Bearer {secret}"}


def _setup(db: Session, store: Store) -> None:
    rows = []
    for month in months(2024):
        rows += labour_rows("T", month, 600, 1000)
        rows += labour_rows("T1", month, 300, 500)
        rows += labour_rows("T2", month, 2, 4)  # fewer than 5 people: suppressed in public
        rows += [
            ("unemployed_persons", a, "month", month, "total", "total", u)
            for a, u in (("T1", 20.0), ("T2", 1.0))
        ]
        rows += [
            ("labour_force", a, "month", month, "total", "total", f)
            for a, f in (("T1", 320.0), ("T2", 3.0))
        ]
    store(rows)
    engine.compute(db, city_code="town", pack_id="administration", full=True)


def test_definitions_list_filter_and_detail(client: TestClient) -> None:
    listed = client.get("/api/v1/indicators", params={"pack": "administration", "sdg": "8.5.2"})
    assert listed.status_code == 200
    assert "unemployment_rate" in {i["code"] for i in listed.json()}
    everything = {i["code"] for i in client.get("/api/v1/indicators").json()}
    assert "suicide_rate" not in everything  # internal
    detail = client.get("/api/v1/indicators/employment_rate", params={"pack": "administration"})
    assert detail.json()["inputs"] == ["employed_persons", "working_age_population"]
    assert client.get("/api/v1/indicators/nope").status_code == 404
    assert client.get("/api/v1/indicators", params={"sdg": "x y"}).status_code in (400, 422)


def test_values_suppress_small_cells_for_the_public(
    client: TestClient, db: Session, town: City, store: Store
) -> None:
    _setup(db, store)
    params = {"pack": "administration", "grain": "month", "from": "2024-03-01", "to": "2024-03-01"}
    public = client.get("/api/v1/indicators/employment_rate/values", params=params).json()
    by_area = {v["area_code"]: v for v in public}
    assert by_area["T1"]["value"] == 60.0 and by_area["T1"]["suppressed"] is None
    assert by_area["T2"]["value"] is None
    assert "fewer than 5 people" in by_area["T2"]["suppressed"]
    assert by_area["T1"]["provenance"] is None
    staff = client.get(
        "/api/v1/indicators/employment_rate/values", params=params, headers=_token(db, "official")
    ).json()
    staff_t2 = next(v for v in staff if v["area_code"] == "T2")
    assert staff_t2["value"] == 50.0 and staff_t2["provenance"]["inputs"]
    bad = client.get("/api/v1/indicators/employment_rate/values", params={"grain": "week"})
    assert bad.status_code == 422 and "week" in bad.json()["detail"]


def test_ranking_lists_best_first_and_missing(
    client: TestClient, db: Session, town: City, store: Store
) -> None:
    _setup(db, store)
    ranking = client.get(
        "/api/v1/indicators/unemployment_rate/ranking",
        params={"pack": "administration", "city": "town", "grain": "year"},
    ).json()
    assert ranking["period_start"] == "2024-01-01"
    assert ranking["ranked"][0]["area_code"] == "T1" and ranking["ranked"][0]["rank"] == 1
    assert ranking["ranked"][1]["suppressed"]  # T2: too few people to show or rank
    assert ranking["missing"] == []


def test_exports(client: TestClient, db: Session, town: City, store: Store) -> None:
    _setup(db, store)
    base = "/api/v1/indicators/employment_rate/values"
    params = {"pack": "administration", "grain": "year"}
    as_csv = client.get(base, params={**params, "format": "csv"})
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert {r["area_code"] for r in rows} == {"T", "T1", "T2"}
    t2 = next(r for r in rows if r["area_code"] == "T2")
    assert t2["value"] == "" and t2["suppressed"]
    sdg = client.get(base, params={**params, "format": "sdg-csv"})
    sdg_rows = list(csv.DictReader(io.StringIO(sdg.text)))
    assert sdg_rows[0]["Goal"] == "8" and sdg_rows[0]["Sex"] == "_T" and sdg_rows[0]["Age"] == "_T"
    assert sdg_rows[0]["TimePeriod"] == "2024"
    as_json = client.get(base, params={**params, "format": "json"}).json()
    assert len(as_json) == 3
    xlsx = client.get(base, params={**params, "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None and sheet.max_row == 4
    assert client.get(base, params={**params, "format": "pdf"}).status_code == 422


def test_coverage_and_checks(client: TestClient, db: Session, town: City, store: Store) -> None:
    _setup(db, store)
    store(
        [
            ("mode_share", "T", "year", dt.date(2024, 1, 1), "total", "total", v, f"mode={m}")
            for m, v in (("bus", 40.0), ("car", 30.0), ("walk", 20.0))
        ]
    )
    coverage = client.get(
        "/api/v1/indicators/coverage", params={"pack": "administration", "city": "town"}
    ).json()
    assert coverage["reported"] >= 3 and coverage["defined"] == 79  # 81 minus 2 internal
    economy = next(g for g in coverage["by_theme"] if g["key"] == "economy_jobs")
    assert "employment_rate" not in economy["missing"]
    checks = client.get("/api/v1/indicators/checks", params={"city": "town"}).json()
    mode = next(c for c in checks if c["code"] == "mode_shares_sum_to_100")
    assert not mode["passed"] and "sums to 90" in mode["findings"][0]["detail"]
    labour = next(c for c in checks if c["code"] == "unemployed_within_labour_force")
    assert labour["passed"] and labour["cells_checked"] == 24


def test_pledge_board(client: TestClient, db: Session, town: City, store: Store) -> None:
    _setup(db, store)
    pledges.add_pledge(
        db,
        SYSTEM_VIEWER,
        city="town",
        number="1",
        title_en="Employment 70 %",
        owner_department="Jobs",
        indicator_codes=["employment_rate"],
        baseline_value=50,
        baseline_date=dt.date(2022, 1, 1),
        target_value=70,
        target_date=dt.date(2026, 1, 1),
    )
    pledges.add_pledge(
        db,
        SYSTEM_VIEWER,
        city="town",
        number="2",
        title_en="Secret",
        owner_department="Jobs",
        indicator_codes=["employment_rate"],
        baseline_value=50,
        baseline_date=dt.date(2022, 1, 1),
        target_value=70,
        target_date=dt.date(2026, 1, 1),
        visibility="internal",
    )
    board = client.get("/api/v1/pledges", params={"city": "town"}).json()
    assert [p["number"] for p in board["pledges"]] == ["1"]
    one = board["pledges"][0]
    # 60 % on 2024-12: half way from 50 to 70, with 74 % of the time gone: more than 10 points
    # behind the straight line but within 25.
    assert one["progress"]["value"] == 60.0 and one["progress"]["status"] == "at_risk"
    assert client.get("/api/v1/pledges/2", params={"city": "town"}).status_code == 404
    staff = client.get("/api/v1/pledges/2", params={"city": "town"}, headers=_token(db, "mayor"))
    assert staff.status_code == 200 and staff.json()["history"][0]["note"] == "created"
