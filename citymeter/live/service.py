"""Who hears which live events: the filters of a stream and the visibility rule."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from citymeter.accounts.permissions import Viewer
from citymeter.errors import InvalidInput
from citymeter.live.events import LiveEvent
from citymeter.places import service as places

MAX_FILTER_VALUES = 50


@dataclass(frozen=True)
class StreamFilter:
    """What one client asked for; empty sets mean "everything"."""

    viewer: Viewer
    entity_types: frozenset[str] = frozenset()
    kinds: frozenset[str] = frozenset()
    city_id: int | None = None
    district_id: int | None = None

    def matches(self, event: LiveEvent) -> bool:
        if not can_see(self.viewer, event):
            return False
        if self.entity_types and event.entity_type not in self.entity_types:
            return False
        if self.kinds and not _kind_matches(event.kind, self.kinds):
            return False
        if self.city_id is not None and event.city_id != self.city_id:
            return False
        return self.district_id is None or event.district_id == self.district_id


def _kind_matches(kind: str, wanted: frozenset[str]) -> bool:
    # "entity" matches "entity.updated" and "entity.created"; an exact kind matches itself.
    return kind in wanted or kind.split(".", 1)[0] in wanted


def can_see(viewer: Viewer, event: LiveEvent) -> bool:
    """Public events reach everyone; internal ones only staff allowed to see that district."""
    if event.visibility == "public":
        return True
    return viewer.sees_internal_of(event.district_id)


def _split(value: str | None, name: str) -> frozenset[str]:
    if not value:
        return frozenset()
    items = [item.strip() for item in value.split(",") if item.strip()]
    if len(items) > MAX_FILTER_VALUES:
        raise InvalidInput(f"{name} takes at most {MAX_FILTER_VALUES} comma-separated values.")
    return frozenset(items)


def stream_filter(
    session: Session,
    viewer: Viewer,
    *,
    types: str | None = None,
    area: str | None = None,
    kinds: str | None = None,
) -> StreamFilter:
    """The filter for `types=`, `area=` (a district's or a city's area code) and `kinds=`."""
    city_id: int | None = None
    district_id: int | None = None
    if area:
        city, found = places.find_area_anywhere(session, area.strip())
        if found.level == "city" or found.parent_id is None:
            city_id = city.id
        elif found.level == "district":
            district_id = found.id
        else:
            raise InvalidInput(
                f"area={area} is a {found.level}; the live stream filters by a district's code "
                "or a city's code (`citymeter areas list --level district` lists them)."
            )
    return StreamFilter(
        viewer=viewer,
        entity_types=_split(types, "types"),
        kinds=_split(kinds, "kinds"),
        city_id=city_id,
        district_id=district_id,
    )
