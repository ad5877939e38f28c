"""HTTP pull against a real local server replaying recorded payloads: paging, conditional
requests, auth from the environment, CSV, failures with retries, slow servers."""

from __future__ import annotations

import random
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from citymeter.connectors.base import ConnectorRegistry
from citymeter.connectors.runner import Runner, RunOutcome
from citymeter.entities.models import Entity
from citymeter.errors import InvalidInput
from citymeter.sources.models import Source

from .conftest import PayloadServer, add_source, load_source

AIR = {
    "type": "AirQualityStation",
    "id_field": "stationName",
    "time_field": "dataTime",
    "attrs": {"pm10": "pm10Value", "pm25": "pm25Value", "no2": "no2Value", "o3": "o3Value"},
}


def _run(
    sessions: sessionmaker[Session], registry: ConnectorRegistry, code: str, **fields: Any
) -> RunOutcome:
    if "config" in fields:
        add_source(sessions, registry, code, kind="http_pull", **fields)
    runner = Runner(sessions, registry=registry, backoff_base_s=0.01, rng=random.Random(3))
    try:
        return runner.run_source(code)
    finally:
        runner.stop()


def _stations(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return sorted(session.scalars(select(Entity.entity_id)))


@pytest.mark.parametrize(
    ("path", "paging", "items", "requests"),
    [
        (
            "/air/page",
            {"style": "page", "param": "pageNo", "size_param": "numOfRows", "size": 2},
            "response.body.items",
            3,
        ),
        (
            "/air/offset",
            {"style": "offset", "param": "offset", "size_param": "limit", "size": 2},
            "items",
            3,
        ),
        ("/air/link", {"style": "link"}, "items", 3),
    ],
)
def test_paging_reads_every_page(
    sessions: sessionmaker[Session],
    registry: ConnectorRegistry,
    payload_server: PayloadServer,
    path: str,
    paging: dict[str, Any],
    items: str,
    requests: int,
) -> None:
    config = {"url": payload_server.base + path, "items": items, "paging": paging, "readings": AIR}
    outcome = _run(sessions, registry, "air", config=config)
    assert outcome.status == "success", outcome.message
    assert (outcome.result.records_in, outcome.result.accepted) == (5, 5)
    assert payload_server.count(path) == requests
    ids = _stations(sessions)
    assert len(ids) == 5 and ids[0] == "urn:ngsi-ld:AirQualityStation:gwangjin"


def test_etag_makes_an_unchanged_api_a_304_success(
    sessions: sessionmaker[Session], registry: ConnectorRegistry, payload_server: PayloadServer
) -> None:
    config = {"url": payload_server.base + "/air/all", "items": "items", "readings": AIR}
    first = _run(sessions, registry, "air", config=config)
    etag = load_source(sessions, "air").state["etag"]
    second = _run(sessions, registry, "air")
    assert (first.status, first.result.accepted) == ("success", 5)
    assert (second.status, second.result.records_in) == ("not_modified", 0)
    sent = payload_server.requests[-1][1]
    assert sent["If-None-Match"] == etag
    source = load_source(sessions, "air")
    assert source.consecutive_failures == 0 and source.last_success_at is not None


def test_last_modified_is_sent_back(
    sessions: sessionmaker[Session], registry: ConnectorRegistry, payload_server: PayloadServer
) -> None:
    config = {"url": payload_server.base + "/air/dated", "items": "items", "readings": AIR}
    assert _run(sessions, registry, "air", config=config).status == "success"
    assert _run(sessions, registry, "air").status == "not_modified"
    assert "If-Modified-Since" in payload_server.requests[-1][1]


def test_bearer_token_comes_from_the_environment(
    sessions: sessionmaker[Session],
    registry: ConnectorRegistry,
    payload_server: PayloadServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = {
        "url": payload_server.base + "/air/secure",
        "items": "items",
        "readings": AIR,
        "auth": {"type": "bearer", "token_env": "CITYMETER_TEST_AIR_TOKEN"},
    }
    add_source(sessions, registry, "air", kind="http_pull", max_retries=0, config=config)
    missing = _run(sessions, registry, "air")
    assert missing.status == "failed"
    assert "CITYMETER_TEST_AIR_TOKEN" in (missing.message or "")
    monkeypatch.setenv("CITYMETER_TEST_AIR_TOKEN", "s3cret-token")
    assert _run(sessions, registry, "air").status == "success"
    # The secret is read at run time and never stored.
    with sessions() as session:
        stored = session.scalar(select(Source.config).where(Source.code == "air"))
    assert "s3cret-token" not in str(stored)


def test_secrets_in_the_config_are_refused(
    sessions: sessionmaker[Session], registry: ConnectorRegistry
) -> None:
    config = {"url": "http://127.0.0.1:9/x", "headers": {"Authorization": "Bearer abc"}}
    with pytest.raises(InvalidInput, match="would store a secret"):
        add_source(sessions, registry, "leaky", kind="http_pull", config=config)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Source)) == 0


def test_csv_api(
    sessions: sessionmaker[Session], registry: ConnectorRegistry, payload_server: PayloadServer
) -> None:
    config = {
        "url": payload_server.base + "/parking.csv",
        "format": "csv",
        "readings": {
            "type": "ParkingLot",
            "id_field": "lot_id",
            "time_field": "observed_at",
            "name_field": "name",
            "attrs": ["occupied", "capacity"],
        },
    }
    outcome = _run(sessions, registry, "parking", config=config)
    assert (outcome.status, outcome.result.accepted) == ("success", 3)
    with sessions() as session:
        lot = session.scalar(
            select(Entity).where(Entity.entity_id == "urn:ngsi-ld:ParkingLot:P-001")
        )
        assert lot is not None
        assert lot.attributes["occupied"]["value"] == 120
        assert lot.attributes["capacity"]["value"] == 300


def test_server_errors_are_retried_with_backoff(
    sessions: sessionmaker[Session], registry: ConnectorRegistry, payload_server: PayloadServer
) -> None:
    payload_server.fail_first["/air/all"] = 2
    config = {"url": payload_server.base + "/air/all", "items": "items", "readings": AIR}
    outcome = _run(sessions, registry, "air", max_retries=3, config=config)
    assert outcome.status == "success" and outcome.attempts == 3
    assert payload_server.count("/air/all") == 3
    assert len(outcome.delays) == 2


def test_a_slow_server_times_out(
    sessions: sessionmaker[Session], registry: ConnectorRegistry, payload_server: PayloadServer
) -> None:
    config = {"url": payload_server.base + "/air/slow?s=3", "items": "items", "readings": AIR}
    outcome = _run(sessions, registry, "slow", timeout_s=1, max_retries=1, config=config)
    assert outcome.status in ("failed", "timeout")
    assert "did not answer" in (outcome.message or "") or "timed out" in (outcome.message or "")
    assert outcome.attempts == 2
    assert _stations(sessions) == []


def test_a_bad_record_is_dead_lettered_and_counted(
    sessions: sessionmaker[Session], registry: ConnectorRegistry, payload_server: PayloadServer
) -> None:
    bad = dict(AIR, type="NoSuchType")
    config = {"url": payload_server.base + "/air/all", "items": "items", "readings": bad}
    outcome = _run(sessions, registry, "air", config=config)
    # The page is one batch: refused whole, every record dead-lettered, the run itself succeeds.
    assert outcome.status == "success"
    assert (outcome.result.records_in, outcome.result.accepted, outcome.result.rejected) == (
        5,
        0,
        5,
    )
    assert _stations(sessions) == []
