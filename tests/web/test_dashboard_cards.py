"""Headline cards answer "is the pledge on track?" at a glance: each card measured by a pledge
carries that pledge's number and status, the same status the pledge board shows."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from citymeter.accounts.permissions import SYSTEM_VIEWER
from citymeter.demo import build
from citymeter.indicators.demo import round_target

END = dt.date(2026, 10, 1)


@pytest.fixture
def demo(db: Session) -> build.DemoBuild:
    return build.build_demo_city(
        db, SYSTEM_VIEWER, seed=3, end=END, months=13, districts=25, neighbourhoods=50
    )


def _card(page: str, code: str) -> str:
    start = page.index(f'id="card-{code}"')
    return page[start : page.index("</li>", start)]


def test_a_card_shows_the_status_of_the_pledge_it_measures(
    client: TestClient, demo: build.DemoBuild
) -> None:
    page = client.get("/?lang=en").text
    board = page[page.index('class="pledge-list"') :]
    card = _card(page, "employment_rate")
    found = re.search(
        r'href="/pledges/(\d+)\?lang=en">Pledge \1</a> <span class="tag status-(\w+)"', card
    )
    assert found is not None, card
    number, status = found.groups()
    # The board lists the same pledge with the same status.
    item = board[board.index(f'href="/pledges/{number}?lang=en"') :]
    assert item[: item.index("</li>")].count(f"status-{status}") == 1
    # A card no pledge measures has no pledge line.
    assert "card-pledge" not in _card(page, "share_aged_65_plus")


def test_the_target_line_spaces_word_units_and_not_percent(
    client: TestClient, demo: build.DemoBuild
) -> None:
    page = client.get("/?lang=en").text
    assert re.search(r"Target [\d.,]+% ·", _card(page, "employment_rate"))
    assert re.search(r"Target [\d,]+ jobs ·", _card(page, "jobs_created"))


@pytest.mark.parametrize(
    ("value", "rounded", "shown"),
    [
        (136_129.4, 136_000.0, "136,000"),
        (62.594, 62.6, "62.6"),
        (0.052534, 0.0525, "0.0525"),
        (743.3, 743.0, "743"),
        (-12.34, -12.3, "-12.3"),
    ],
)
def test_demo_pledge_targets_are_written_out(value: float, rounded: float, shown: str) -> None:
    assert round_target(value) == (rounded, shown)
