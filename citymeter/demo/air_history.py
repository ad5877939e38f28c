"""A compact past for the demo city's air-quality stations: one reading of PM10 and PM2.5 per
station and day from 1 January of last year until yesterday, so that the annual-mean and bad-day
indicators (`annual_mean_of_daily_means`, `days_above` over AirQualityStation.pm25) have more
than a year of daily means before the live feeds start.

The stations are those the live feeds simulate (`feeds.plan_sites`): each is created by one
ordinary reading through ingest, and its past stored through the entity-history storage
(`record_points`), which keeps the daily roll-ups the indicator engine reads. Levels follow
Korea's seasons (bad in winter and spring, clean in the summer monsoon), city-wide weather that
lasts a few days, and a slow improvement from year to year.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from citymeter.db.base import utcnow
from citymeter.demo import feeds
from citymeter.entities.history import record_points
from citymeter.entities.ingest import build_entity_id, ingest_readings, load_entities
from citymeter.places.models import City

# How the monthly mean departs from the annual one, January to December.
SEASON = (1.35, 1.3, 1.4, 1.1, 0.95, 0.8, 0.65, 0.6, 0.65, 0.8, 1.05, 1.25)
YEARLY_CHANGE = -0.04  # the air gets a little cleaner every year
WEATHER_MEMORY = 0.7  # how much of yesterday's weather stays (on the log scale)
WEATHER_SPREAD = 0.32
DAILY_MEAN_OF_RUSH = 0.85  # a day's mean relative to a site's base, over the traffic rhythm
READING_HOUR = 13  # local time of the daily reading


@dataclass(frozen=True)
class AirHistory:
    stations: int
    days: int
    points: int


def weather(seed: int, first: dt.date, last: dt.date) -> dict[dt.date, float]:
    """A city-wide factor per day (mean about 1): stagnant air for a few days, then wind."""
    rng = random.Random(f"{seed}-air-weather")
    level = 0.0
    stationary = WEATHER_SPREAD**2 / (1 - WEATHER_MEMORY**2)
    out: dict[dt.date, float] = {}
    day = first
    while day <= last:
        level = WEATHER_MEMORY * level + rng.gauss(0, WEATHER_SPREAD)
        out[day] = math.exp(level - stationary / 2)
        day += dt.timedelta(days=1)
    return out


def daily_levels(
    site: feeds.Site, day: dt.date, factor: float, rng: random.Random
) -> dict[str, float]:
    """The site's PM10 and PM2.5 daily means for `day` under the city's `factor`."""
    trend = (1 + YEARLY_CHANGE) ** (day.year - 2025)
    pm10 = site.base * DAILY_MEAN_OF_RUSH * SEASON[day.month - 1] * factor * trend
    pm10 *= math.exp(rng.gauss(0, 0.08))
    return {
        "pm10": round(max(1.0, pm10), 1),
        "pm25": round(max(0.5, pm10 * rng.uniform(0.5, 0.6)), 1),
    }


def seed_air_history(
    session: Session, city: City, *, seed: int = feeds.DEFAULT_SEED, now: dt.datetime | None = None
) -> AirHistory:
    """Create the city's air-quality stations and store their daily past (see the module)."""
    tz = ZoneInfo(city.timezone)
    today = (now or utcnow()).astimezone(tz).date()
    first, last = dt.date(today.year - 1, 1, 1), today - dt.timedelta(days=1)
    stations = [s for s in feeds.plan_sites(session, city, seed) if s.family == "air"]
    if not stations or last < first:
        return AirHistory(0, 0, 0)
    factors = weather(seed, first, last)
    rng = random.Random(f"{seed}-air-stations")

    def moment(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(READING_HOUR), tzinfo=tz).astimezone(dt.UTC)

    history = {
        site.local_id: {day: daily_levels(site, day, f, rng) for day, f in factors.items()}
        for site in stations
    }
    # One ordinary reading per station (its latest) creates and locates it.
    newest = moment(last)
    readings = []
    for site in stations:
        reading = feeds.reading(site, newest, tz, seed)
        reading["attrs"] = {**reading["attrs"], **history[site.local_id][last]}
        readings.append(reading)
    ingest_readings(session, readings, city=city, channel="demo")
    entities = load_entities(
        session, [build_entity_id(s.entity_type, s.local_id) for s in stations]
    )
    points = [
        (entities[build_entity_id(site.entity_type, site.local_id)].id, attr, moment(day), value)
        for site in stations
        if build_entity_id(site.entity_type, site.local_id) in entities
        for day, levels in history[site.local_id].items()
        for attr, value in levels.items()
    ]
    record_points(session, points)
    return AirHistory(len(entities), len(factors), len(points))
