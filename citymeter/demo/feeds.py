"""Live demo feeds: a seeded simulator of the demo city's sensors with realistic daily rhythms
(and, with `citizens=True`, its residents: citymeter/demo/citizens.py).

Per district: air-quality stations (PM10, PM2.5, NO2, O3 — traffic peaks in the morning and
evening rush, ozone in the afternoon), segments of main roads (speed dips at rush hour), public car
parks (full by day, empty by night) and CCTV sites (a few go offline now and then).

With a broker (CITYMETER_MQTT_URL) every reading is published over MQTT on
`citymeter/{district}/{air|traffic|parking|cctv}/{id}` and the demo's MQTT source stores it, as a
real deployment would; without one, readings are stored in-process through the same ingest.
The same seed gives the same sites and the same values for the same moment.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import math
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from citymeter.accounts.permissions import Viewer
from citymeter.demo.citizens import CitizenSimulator
from citymeter.places.models import Area, City

log = logging.getLogger(__name__)

DEFAULT_SEED = 2026
DEFAULT_INTERVAL_S = 5.0
MQTT_SOURCE_CODE = "demo-sensors"
TOPIC_ROOT = "citymeter"
FAMILIES = {
    "air": "AirQualityStation",
    "traffic": "TrafficSegment",
    "parking": "ParkingLot",
    "cctv": "CctvCamera",
}
ROADS = ("Main Avenue", "River Road", "Station Boulevard", "Ring Road", "Market Street")
CCTV_PURPOSES = ("crime prevention", "traffic", "children's safety")


@dataclass(frozen=True)
class Site:
    """One simulated sensor: where it is and what shapes its values."""

    family: str
    local_id: str
    district_code: str
    lat: float
    lon: float
    name: str
    base: float  # the site's own level (pollution, free-flow speed, capacity, cameras)
    busy: float  # how much the daily rhythm moves it (0..1)

    @property
    def entity_type(self) -> str:
        return FAMILIES[self.family]

    @property
    def topic(self) -> str:
        return f"{TOPIC_ROOT}/{self.district_code}/{self.family}/{self.local_id}"


def plan_sites(session: Session, city: City, seed: int = DEFAULT_SEED) -> list[Site]:
    """The sensors of `city`: placed at neighbourhood centres of each district (inside the city)."""
    districts = list(
        session.scalars(
            select(Area)
            .where(Area.city_id == city.id, Area.level == "district")
            .order_by(Area.code)
        )
    )
    rng = random.Random(seed)
    sites: list[Site] = []
    for district in districts:
        places = list(
            session.scalars(
                select(Area)
                .where(Area.parent_id == district.id, Area.centroid_lat.is_not(None))
                .order_by(Area.code)
            )
        )
        if not places and district.centroid_lat is not None:
            places = [district]
        if not places:
            continue
        d = district.code

        def spot(index: int, places: list[Area] = places) -> tuple[float, float]:
            area = places[index % len(places)]
            assert area.centroid_lat is not None and area.centroid_lon is not None
            return area.centroid_lat, area.centroid_lon

        counts = {"air": 1 + rng.randrange(2), "traffic": 2, "parking": 1 + rng.randrange(2)}
        counts["cctv"] = 2 + rng.randrange(3)
        picks = list(range(len(places)))
        rng.shuffle(picks)
        slot = 0
        for family, how_many in counts.items():
            for n in range(how_many):
                lat, lon = spot(picks[slot % len(picks)])
                slot += 1
                local = f"{d}-{family}-{n + 1}"
                if family == "air":
                    name, base = f"{district.name} air station {n + 1}", rng.uniform(25, 45)
                elif family == "traffic":
                    road = ROADS[rng.randrange(len(ROADS))]
                    name, base = f"{road} ({district.name})", rng.uniform(45, 70)
                elif family == "parking":
                    name, base = (
                        f"{district.name} public car park {n + 1}",
                        float(rng.choice((80, 120, 200, 350))),
                    )
                else:
                    name, base = f"{district.name} CCTV site {n + 1}", float(rng.randint(2, 12))
                sites.append(Site(family, local, d, lat, lon, name, base, rng.uniform(0.5, 1.0)))
    return sites


def _rush(hour: float) -> float:
    """0..1: how much traffic there is at this local hour (peaks at 8:00 and 18:30)."""
    morning = math.exp(-(((hour - 8.0) / 1.3) ** 2))
    evening = math.exp(-(((hour - 18.5) / 1.8) ** 2))
    night = 0.15 if 6 <= hour <= 22 else 0.05
    return min(1.0, max(morning, evening * 0.9, night))


def _noise(seed: int, site: Site, at: dt.datetime, salt: str) -> float:
    """A reproducible number in [-1, 1] for this site, minute and quantity."""
    key = f"{seed}|{site.local_id}|{at:%Y%m%d%H%M%S}|{salt}".encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=4).digest()) / 2**31 - 1.0


def site_values(
    site: Site, at: dt.datetime, tz: ZoneInfo, seed: int = DEFAULT_SEED
) -> dict[str, Any]:
    """The attributes `site` reports at `at` (deterministic for a seed)."""
    local = at.astimezone(tz)
    hour = local.hour + local.minute / 60
    rush = _rush(hour) * site.busy
    weekend = local.weekday() >= 5

    def jitter(salt: str, size: float) -> float:
        return _noise(seed, site, at, salt) * size

    if site.family == "air":
        pm10 = site.base * (0.7 + 0.8 * rush) + jitter("pm10", 4)
        sun = max(0.0, math.sin(math.pi * (hour - 7) / 12)) if 7 <= hour <= 19 else 0.0
        return {
            "pm10": round(max(1.0, pm10), 1),
            "pm25": round(max(0.5, pm10 * 0.55 + jitter("pm25", 2)), 1),
            "no2": round(max(0.002, 0.012 + 0.03 * rush + jitter("no2", 0.003)), 4),
            "o3": round(max(0.002, 0.01 + 0.045 * sun - 0.01 * rush + jitter("o3", 0.003)), 4),
        }
    if site.family == "traffic":
        dip = 0.55 * rush * (0.6 if weekend else 1.0)
        speed = round(max(5.0, site.base * (1 - dip) + jitter("speed", 3)), 1)
        congestion = (
            "free"
            if speed > site.base * 0.7
            else "slow"
            if speed > site.base * 0.45
            else "congested"
        )
        return {"speed": speed, "congestion": congestion}
    if site.family == "parking":
        day = math.exp(-(((hour - 14.0) / 4.5) ** 2))
        share = min(0.99, max(0.03, 0.1 + 0.8 * day * site.busy + jitter("occ", 0.05)))
        capacity = int(site.base)
        occupied = round(capacity * share)
        return {
            "occupied": occupied,
            "capacity": capacity,
            "occupancy": round(100 * occupied / capacity, 1),
        }
    offline = _noise(seed, site, at.replace(minute=0, second=0), "status") > 0.94
    return {
        "status": "offline" if offline else "working",
        "cameras": int(site.base),
        "purpose": CCTV_PURPOSES[int(site.base) % len(CCTV_PURPOSES)],
    }


def reading(site: Site, at: dt.datetime, tz: ZoneInfo, seed: int = DEFAULT_SEED) -> dict[str, Any]:
    """The site's reading at `at`, in the form ingest takes."""
    return {
        "type": site.entity_type,
        "id": site.local_id,
        "observed_at": at,
        "attrs": site_values(site, at, tz, seed),
        "location": {"lat": site.lat, "lon": site.lon},
        "name": site.name,
    }


def mqtt_payload(site: Site, at: dt.datetime, tz: ZoneInfo, seed: int = DEFAULT_SEED) -> bytes:
    """The JSON a sensor publishes: its attributes, observedAt, location and name."""
    body = {
        **site_values(site, at, tz, seed),
        "observedAt": at.isoformat(),
        "location": {"lat": site.lat, "lon": site.lon},
        "name": site.name,
    }
    return json.dumps(body, separators=(",", ":")).encode()


def mqtt_source_config(mqtt_url: str) -> dict[str, Any]:
    """The config of the demo's MQTT source: one topic pattern per sensor family."""
    return {
        "url": mqtt_url,
        "protocol": "5",
        "client_id": f"citymeter-{MQTT_SOURCE_CODE}",
        "topics": [
            {"pattern": f"{TOPIC_ROOT}/{{district}}/{family}/{{id}}", "type": entity_type}
            for family, entity_type in FAMILIES.items()
        ],
    }


def ensure_mqtt_source(session: Session, actor: Viewer, mqtt_url: str) -> bool:
    """Register the demo's MQTT source unless it is there; True when it was added."""
    return ensure_demo_source(session, actor, mqtt_url)


def ensure_demo_source(session: Session, actor: Viewer, mqtt_url: str | None) -> bool:
    """Register the demo's sensor source unless it is there: an MQTT source when a broker is
    configured, else a manual source whose health the in-process simulator feeds. True when
    it was added."""
    from citymeter.sources import service as sources
    from citymeter.sources.models import Source
    from citymeter.sources.schemas import SourceCreate

    if session.scalar(select(Source.id).where(Source.code == MQTT_SOURCE_CODE)) is not None:
        return False
    sources.add_source(
        session,
        actor,
        SourceCreate(
            code=MQTT_SOURCE_CODE,
            name="Demo city sensors" + (" (MQTT)" if mqtt_url else " (in-process)"),
            kind="mqtt" if mqtt_url else "manual",
            department="Smart City Office",
            description="Simulated air, traffic, parking and CCTV sensors of the demo city.",
            expected_interval_s=60,
            config=mqtt_source_config(mqtt_url) if mqtt_url else {},
        ),
    )
    return True


class FeedSimulator:
    """Sends one reading per site every `interval` seconds until stopped (on its own thread);
    with `citizens`, also files the city's live complaints, incidents and suggestions."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        city_code: str,
        *,
        mqtt_url: str | None = None,
        seed: int = DEFAULT_SEED,
        interval: float = DEFAULT_INTERVAL_S,
        clock: Callable[[], dt.datetime] | None = None,
        citizens: bool = False,
    ) -> None:
        self.sessions = sessions
        self.city_code = city_code
        self.mqtt_url = mqtt_url
        self.seed = seed
        self.interval = interval
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC).replace(microsecond=0))
        self.sent = 0
        self.ticks = 0
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client: Any = None
        with sessions() as session:
            city = session.scalar(select(City).where(City.code == city_code))
            if city is None:
                raise ValueError(f"there is no city {city_code!r} to simulate")
            self.tz = ZoneInfo(city.timezone)
            self.sites = plan_sites(session, city, seed)
        # Residents and emergency calls beside the sensors (citymeter/demo/citizens.py).
        self.citizens: CitizenSimulator | None = None
        if citizens:
            self.citizens = CitizenSimulator(sessions, city_code, seed=seed)

    @property
    def mode(self) -> str:
        return "mqtt" if self.mqtt_url else "in-process"

    def tick(self) -> int:
        """Send one round of readings now, and file what the citizens have due; returns how
        many readings."""
        at = self.clock()
        if self.mqtt_url:
            self._publish(at)
        else:
            self._store(at)
        self.ticks += 1
        self.sent += len(self.sites)
        if self.citizens is not None:
            self.citizens.tick(at)
        return len(self.sites)

    def _store(self, at: dt.datetime) -> None:
        from citymeter.entities.ingest import ingest_readings
        from citymeter.sources import health
        from citymeter.sources.models import Source

        with self.sessions() as session, session.begin():
            city = session.scalar(select(City).where(City.code == self.city_code))
            source = session.scalar(select(Source).where(Source.code == MQTT_SOURCE_CODE))
            readings = [reading(site, at, self.tz, self.seed) for site in self.sites]
            result = ingest_readings(session, readings, city=city, source=source, channel="demo")
            if source is not None:
                health.record_push(
                    session,
                    source.code,
                    received=result.received,
                    accepted=result.accepted + result.duplicates,
                    rejected=result.rejected,
                    refusal=result.errors[0].reason if result.refused and result.errors else None,
                    tz=self.tz.key,
                )

    def _publish(self, at: dt.datetime) -> None:
        if self._client is None:
            self._client = _mqtt_publisher(self.mqtt_url or "")
        infos = [
            self._client.publish(site.topic, mqtt_payload(site, at, self.tz, self.seed), qos=1)
            for site in self.sites
        ]
        for info in infos:
            info.wait_for_publish(timeout=10)

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="citymeter-demo-feeds", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception as exc:  # keep the demo moving; say what went wrong
                self.errors.append(str(exc))
                del self.errors[:-20]
                log.warning("demo feeds: %s", exc)
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=15)
            self._thread = None
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
            self._client = None

    def __enter__(self) -> FeedSimulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _mqtt_publisher(url: str) -> Any:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from citymeter.connectors.mqtt import parse_url

    host, port, username, password = parse_url(url)
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=f"citymeter-demo-feeds-{random.getrandbits(32):08x}",
        protocol=mqtt.MQTTv5,
    )
    if username:
        client.username_pw_set(username, password)
    client.max_inflight_messages_set(200)
    client.connect(host, port)
    client.loop_start()
    return client


def site_summary(sites: list[Site]) -> dict[str, int]:
    summary: dict[str, int] = {}
    for site in sites:
        summary[site.entity_type] = summary.get(site.entity_type, 0) + 1
    return summary
