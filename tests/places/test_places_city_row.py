"""`get_city_row` answers as `get_city` does, as plain columns."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from citymeter.cli.common import CLI_ACTOR
from citymeter.errors import InvalidInput, NotFound
from citymeter.places import service as places
from citymeter.places.models import CityRow


def test_the_only_city_and_a_city_by_code(db: Session) -> None:
    with pytest.raises(NotFound, match="no city yet"):
        places.get_city_row(db)
    city = places.create_city(db, CLI_ACTOR, code="one", name="One City")
    assert places.get_city_row(db) == CityRow(city.id, "one", "One City")
    places.create_city(db, CLI_ACTOR, code="two", name="Two City")
    with pytest.raises(InvalidInput, match="several cities"):
        places.get_city_row(db)
    row = places.get_city_row(db, "two")
    orm = places.get_city(db, "two")
    assert (row.id, row.code, row.name) == (orm.id, orm.code, orm.name)
    with pytest.raises(NotFound, match="'nope'"):
        places.get_city_row(db, "nope")
