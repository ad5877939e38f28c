"""MQTT subscribe: topics mapped to entity types, stored with QoS 1 and acknowledged after commit.

A source of kind "mqtt" has a config like

    {
      "url": "mqtt://127.0.0.1:1883",          # mqtt://user:password@host:port
      "protocol": "5",                          # "5" or "3.1.1"
      "topics": [
        {"pattern": "citymeter/{district}/air/{station}", "type": "AirQualityStation",
         "id": "{station}"},
        {"pattern": "sensors/parking/{lot}", "type": "ParkingLot",
         "attributes": {"occ": "occupied", "cap": "capacity"}}
      ]
    }

Each `{name}` segment of a pattern matches one topic level (MQTT's `+`); `id` builds the entity's
local id from those names (default: the last one). The payload is a JSON object of attribute
values, with optional `observedAt` (ISO 8601 with a time zone; default: when it arrived),
`location` ({"lat", "lon"} or a GeoJSON Point) and `name`. `attributes` renames payload keys to
attribute names and then only those keys are read.

A topic of an incident system says `"records": "incidents"` instead of a type:

    {"pattern": "cad/{district}/incidents/{number}", "records": "incidents", "id": "{number}"}

Its payload is one incident as `POST /api/v1/incidents` takes it (number, type, category,
severity, reported_at, lat, lon, address, remarks, stages), or one unit reaching a stage
(`{"unit": "E1", "stage": "on_scene", "at": "…"}`); `id` names the incident number when the
payload has none. A refused message is dead-lettered with the reason, a repeated one is a duplicate.

Nothing is lost across restarts: the client id is fixed per source, the session is persistent
(MQTT 3.1.1 clean_session=False; MQTT 5 clean_start=False with a session expiry), messages are
subscribed at QoS 1 and each is acknowledged only after the transaction storing it (or its dead
letter) has committed. A message that was stored but not yet acknowledged when the connection
dropped is delivered again and counted as a duplicate: ingest is idempotent.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import logging
import queue
import re
import struct
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import unquote, urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from citymeter.accounts.permissions import Viewer
from citymeter.connectors.base import BaseConnector, ConnectorContext, ConnectorResult, Mode
from citymeter.db.engine import write_session
from citymeter.errors import CityMeterError, InvalidInput

if TYPE_CHECKING:
    from citymeter.connectors.mqtt_workers import WorkerPool

log = logging.getLogger(__name__)

CHANNEL = "mqtt"
DEFAULT_SESSION_EXPIRY_S = 7 * 24 * 3600
# How many unacknowledged QoS 1 messages the broker may send at once (MQTT 5 Receive Maximum).
DEFAULT_RECEIVE_MAXIMUM = 2000
_VARIABLE = re.compile(r"^\{([A-Za-z_][A-Za-z0-9_]*)\}$")
_TIME_KEYS = ("observedAt", "observed_at", "ts", "time")
_RESERVED = {*_TIME_KEYS, "location", "lat", "lon", "name"}
RECORDS = ("entities", "incidents")
MAX_PROCESSES = 16
_SHARE_GROUP = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
# A PUBACK (MQTT 3.1.1 and 5: reason code "success" may be left out): type, length 2, packet id.
_PUBACK = 0x40


class MalformedMessage(ValueError):
    """A message that cannot become a reading; it goes to the dead-letter table."""


class StoreRefused(Exception):
    """The database refused good readings (store_messages with retry_refused=True)."""


@dataclass(frozen=True)
class TopicRoute:
    """One topic pattern and what its messages become."""

    pattern: str
    entity_type: str
    id_template: str | None
    attributes: Mapping[str, str] | None = None
    levels: tuple[str, ...] = ()
    records: str = "entities"  # or "incidents"

    @classmethod
    def from_config(cls, raw: Any, position: int) -> TopicRoute:
        where = f"topics[{position}]"
        if not isinstance(raw, Mapping):
            raise InvalidInput(f"{where} must be an object with pattern and type.")
        unknown = set(raw) - {"pattern", "type", "id", "attributes", "records"}
        if unknown:
            raise InvalidInput(f"{where} has unknown keys: {', '.join(sorted(unknown))}.")
        pattern, entity_type = raw.get("pattern"), raw.get("type")
        records = raw.get("records", "entities")
        if records not in RECORDS:
            raise InvalidInput(f"{where}.records is one of {', '.join(RECORDS)}, not {records!r}.")
        if not isinstance(pattern, str) or not pattern.strip():
            raise InvalidInput(
                f"{where}.pattern is missing (e.g. citymeter/{{district}}/air/{{id}})."
            )
        if records == "incidents":
            if entity_type is not None or raw.get("attributes") is not None:
                raise InvalidInput(f"{where}: an incidents topic takes no type or attributes.")
            entity_type = "Incident"
        if not isinstance(entity_type, str) or not entity_type:
            raise InvalidInput(f"{where}.type is missing (an entity type, e.g. AirQualityStation).")
        levels = tuple(pattern.strip().split("/"))
        names: list[str] = []
        for level in levels:
            if "+" in level or "#" in level:
                raise InvalidInput(
                    f"{where}.pattern: write {{name}} for a level that varies, not {level!r}."
                )
            match = _VARIABLE.match(level)
            if match:
                names.append(match.group(1))
            elif "{" in level or "}" in level or not level:
                raise InvalidInput(f"{where}.pattern has an unusable level {level!r}.")
        id_template = raw.get("id") or (f"{{{names[-1]}}}" if names else None)
        if id_template is None and records == "incidents":
            pass  # the incident number comes from the payload
        elif not isinstance(id_template, str):
            raise InvalidInput(
                f'{where} needs an id template (e.g. "{{station}}") when its pattern has no '
                "{name} level."
            )
        for used in re.findall(r"\{([^}]*)\}", id_template or ""):
            if used not in names:
                raise InvalidInput(f"{where}.id uses {{{used}}}, which the pattern does not have.")
        attributes = raw.get("attributes")
        if attributes is not None and (
            not isinstance(attributes, Mapping)
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in attributes.items())
        ):
            raise InvalidInput(f"{where}.attributes maps payload keys to attribute names.")
        return cls(
            pattern=pattern.strip(),
            entity_type=entity_type,
            id_template=id_template,
            attributes=dict(attributes) if attributes is not None else None,
            levels=levels,
            records=records,
        )

    @property
    def subscription(self) -> str:
        """The MQTT topic filter: each {name} level becomes `+`."""
        return "/".join("+" if _VARIABLE.match(level) else level for level in self.levels)

    @functools.cached_property
    def _slots(self) -> tuple[tuple[str | None, str], ...]:
        """Per level: (the variable's name, "") for {name}, (None, the text) for a fixed level."""
        slots: list[tuple[str | None, str]] = []
        for level in self.levels:
            variable = _VARIABLE.match(level)
            slots.append((variable.group(1), "") if variable else (None, level))
        return tuple(slots)

    def match(self, topic: str) -> dict[str, str] | None:
        parts = topic.split("/")
        slots = self._slots
        if len(parts) != len(slots):
            return None
        values: dict[str, str] = {}
        for (name, fixed), part in zip(slots, parts, strict=True):
            if name is not None:
                values[name] = part
            elif fixed != part:
                return None
        return values

    def to_reading(
        self, topic: str, values: Mapping[str, str], body: Any, now: dt.datetime
    ) -> dict[str, Any]:
        if not isinstance(body, Mapping):
            raise MalformedMessage(
                f"the payload on {topic} is JSON but not an object of attribute values"
            )
        at = now
        for key in _TIME_KEYS:
            if key in body:
                at = _parse_time(body[key], key)
                break
        assert self.id_template is not None  # an entities topic always has one
        reading: dict[str, Any] = {
            "type": self.entity_type,
            "id": self.id_template.format(**values),
            "observed_at": at,
        }
        location = _location(body)
        if location is not None:
            reading["location"] = location
        if "name" in body:
            reading["name"] = body["name"]
        attrs: dict[str, Any] = {}
        if self.attributes is not None:
            for key, attribute in self.attributes.items():
                if key in body:
                    attrs[attribute] = body[key]
        else:
            attrs = {k: v for k, v in body.items() if k not in _RESERVED}
        reading["attrs"] = attrs
        return reading


def _parse_time(value: Any, key: str) -> dt.datetime:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(value, dt.UTC)  # seconds since the epoch
    if not isinstance(value, str):
        raise MalformedMessage(f"{key} must be an ISO 8601 time, not {value!r}")
    try:
        at = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise MalformedMessage(f"{key} {value!r} is not an ISO 8601 time") from None
    if at.tzinfo is None:
        raise MalformedMessage(f"{key} {value!r} has no time zone (add Z or +09:00)")
    return at


def _location(body: Mapping[str, Any]) -> dict[str, Any] | None:
    raw = body.get("location")
    if raw is None and "lat" in body and "lon" in body:
        raw = {"lat": body["lat"], "lon": body["lon"]}
    if raw is None:
        return None
    if isinstance(raw, Mapping) and raw.get("type") == "Point":
        coordinates = raw.get("coordinates")
        if isinstance(coordinates, list) and len(coordinates) >= 2:
            return {"lon": coordinates[0], "lat": coordinates[1]}
        raise MalformedMessage("location is a GeoJSON Point without [lon, lat] coordinates")
    if isinstance(raw, Mapping):
        return dict(raw)
    raise MalformedMessage('location must be {"lat": …, "lon": …} or a GeoJSON Point')


@dataclass(frozen=True)
class MqttConfig:
    host: str
    port: int
    username: str | None
    password: str | None
    protocol: str
    client_id: str
    session_expiry_s: int
    receive_maximum: int
    routes: tuple[TopicRoute, ...]
    batch_size: int = 500
    batch_ms: int = 20
    keepalive_s: int = 30
    # Subscriber processes on a shared subscription (see citymeter/connectors/mqtt_workers.py).
    processes: int = 1
    share_group: str = ""


def parse_url(url: str) -> tuple[str, int, str | None, str | None]:
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "tcp"):
        raise InvalidInput(
            f"MQTT url {url!r} must start with mqtt:// (e.g. mqtt://127.0.0.1:1883)."
        )
    if not parts.hostname:
        raise InvalidInput(f"MQTT url {url!r} names no host.")
    try:
        port = parts.port or 1883
    except ValueError:
        raise InvalidInput(f"MQTT url {url!r} has an unusable port.") from None
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    return parts.hostname, port, user, password


def parse_config(config: Mapping[str, Any], source_code: str = "source") -> MqttConfig:
    """The checked config of an MQTT source (see the module docstring)."""
    known = {
        "url",
        "protocol",
        "client_id",
        "session_expiry_s",
        "receive_maximum",
        "topics",
        "batch_size",
        "batch_ms",
        "keepalive_s",
        "processes",
        "share_group",
    }
    unknown = set(config) - known
    if unknown:
        raise InvalidInput(
            f"Unknown MQTT config keys: {', '.join(sorted(unknown))} "
            f"(known: {', '.join(sorted(known))})."
        )
    url = config.get("url")
    if not isinstance(url, str):
        raise InvalidInput("An MQTT source needs a url, e.g. mqtt://127.0.0.1:1883.")
    host, port, username, password = parse_url(url)
    protocol = str(config.get("protocol", "5"))
    if protocol not in ("5", "3.1.1"):
        raise InvalidInput(f'protocol must be "5" or "3.1.1", not {protocol!r}.')
    topics = config.get("topics")
    if not isinstance(topics, Sequence) or isinstance(topics, str) or not topics:
        raise InvalidInput("An MQTT source needs topics: a list of {pattern, type} objects.")
    routes = tuple(TopicRoute.from_config(raw, i) for i, raw in enumerate(topics))

    def _int(name: str, default: int, low: int, high: int) -> int:
        value = config.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InvalidInput(f"{name} must be a whole number from {low} to {high}.")
        return value

    client_id = config.get("client_id") or f"citymeter-{source_code}"
    if not isinstance(client_id, str) or len(client_id) > 128:
        raise InvalidInput("client_id must be text of at most 128 characters.")
    processes = _int("processes", 1, 1, MAX_PROCESSES)
    if processes > 1 and protocol != "5":
        raise InvalidInput(
            "Several processes share their messages through an MQTT 5 shared subscription; set "
            '"protocol": "5" or "processes": 1.'
        )
    share_group = config.get("share_group") or f"citymeter-{source_code}"
    if not isinstance(share_group, str) or not _SHARE_GROUP.match(share_group):
        raise InvalidInput(
            "share_group must be 1 to 64 letters, digits, '-', '_' or '.' (no '/', '+' or '#')."
        )
    return MqttConfig(
        host=host,
        port=port,
        username=username,
        password=password,
        protocol=protocol,
        client_id=client_id,
        session_expiry_s=_int("session_expiry_s", DEFAULT_SESSION_EXPIRY_S, 60, 2**32 - 1),
        receive_maximum=_int("receive_maximum", DEFAULT_RECEIVE_MAXIMUM, 1, 65535),
        routes=routes,
        batch_size=_int("batch_size", 500, 1, 10_000),
        batch_ms=_int("batch_ms", 20, 0, 5_000),
        keepalive_s=_int("keepalive_s", 30, 5, 3600),
        processes=processes,
        share_group=share_group,
    )


def route_for(routes: Sequence[TopicRoute], topic: str) -> tuple[TopicRoute, dict[str, str]] | None:
    """The first route whose pattern matches `topic`, with the values of its {name} levels."""
    for route in routes:
        values = route.match(topic)
        if values is not None:
            return route, values
    return None


def _json_body(topic: str, payload: bytes) -> Any:
    try:
        return json.loads(payload.decode("utf-8"))
    except UnicodeDecodeError:
        raise MalformedMessage(f"the payload on {topic} is not UTF-8 text") from None
    except ValueError as exc:
        raise MalformedMessage(f"the payload on {topic} is not JSON: {exc}") from None


def message_to_reading(
    routes: Sequence[TopicRoute], topic: str, payload: bytes, now: dt.datetime
) -> dict[str, Any]:
    """The reading a message carries; MalformedMessage (with the reason) when there is none."""
    found = route_for(routes, topic)
    if found is None:
        raise MalformedMessage(f"no topic pattern of this source matches {topic}")
    route, values = found
    if route.records != "entities":
        raise MalformedMessage(f"{topic} carries {route.records}, not readings")
    return route.to_reading(topic, values, _json_body(topic, payload), now)


@dataclass
class _Inbound:
    generation: int
    mid: int
    qos: int
    topic: str
    payload: bytes
    received_at: dt.datetime


@dataclass
class MqttStats:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    acked: int = 0
    batches: int = 0
    connects: int = 0
    disconnects: int = 0
    errors: list[str] = field(default_factory=list)


_COUNTERS = tuple(f.name for f in fields(MqttStats) if f.type in ("int", int))


@dataclass
class ParsedBatch:
    """A batch of messages sorted out before its transaction: readings, incident messages, and
    the malformed ones with the reason."""

    readings: list[dict[str, Any]] = field(default_factory=list)
    incidents: list[tuple[_Inbound, TopicRoute, dict[str, str]]] = field(default_factory=list)
    malformed: list[tuple[_Inbound, str]] = field(default_factory=list)


def parse_messages(messages: Sequence[_Inbound], routes: Sequence[TopicRoute]) -> ParsedBatch:
    """Route and decode every message (no database: this runs outside the write transaction)."""
    parsed = ParsedBatch()
    for message in messages:
        found = route_for(routes, message.topic)
        if found is None:
            reason = f"no topic pattern of this source matches {message.topic}"
            parsed.malformed.append((message, reason))
            continue
        route, values = found
        if route.records == "incidents":
            parsed.incidents.append((message, route, values))
            continue
        try:
            body = _json_body(message.topic, message.payload)
            parsed.readings.append(
                route.to_reading(message.topic, values, body, message.received_at)
            )
        except MalformedMessage as exc:
            parsed.malformed.append((message, str(exc)))
    return parsed


def store_messages(
    session: Session,
    messages: Sequence[_Inbound] | ParsedBatch,
    routes: Sequence[TopicRoute],
    *,
    source: Any = None,
    city: Any = None,
    retry_refused: bool = False,
) -> tuple[int, int, int]:
    """Store a batch of messages (or one already parsed) in `session`: (stored, duplicates,
    dead-lettered).

    One bad message never holds back the others: malformed ones are dead-lettered here, and the
    readings ingest refuses are dead-lettered by ingest while the rest are stored. Good readings
    the database itself refuses are dead-lettered too, unless `retry_refused`: then StoreRefused
    is raised so that the caller can roll back and try the whole batch again.
    """
    from citymeter.entities.ingest import ingest_readings, record_dead_letter

    parsed = messages if isinstance(messages, ParsedBatch) else parse_messages(messages, routes)
    for message, reason in parsed.malformed:
        record_dead_letter(
            session,
            channel=CHANNEL,
            reason=reason,
            payload={
                "topic": message.topic,
                "payload": message.payload.decode("utf-8", "replace"),
            },
            source=source,
        )
    dead = len(parsed.malformed)
    stored = duplicates = 0
    for message, route, values in parsed.incidents:
        kept = _store_incident(session, message, route, values, source)
        if kept == "dead":
            dead += 1
        elif kept == "duplicate":
            duplicates += 1
        else:
            stored += 1
    readings = parsed.readings
    while readings:
        outcome = ingest_readings(session, readings, city=city, source=source, channel=CHANNEL)
        if outcome.store_refused and retry_refused:
            raise StoreRefused(outcome.errors[0].reason)
        if not outcome.errors:
            stored += outcome.accepted
            duplicates += outcome.duplicates
            break
        refused = {error.index for error in outcome.errors}
        dead += len(refused)
        readings = [r for i, r in enumerate(readings) if i not in refused]
    return stored, duplicates, dead


def _store_incident(
    session: Session, message: _Inbound, route: TopicRoute, values: Mapping[str, str], source: Any
) -> str:
    """One incident message in its own savepoint: "stored", "duplicate" or "dead"."""
    from citymeter.entities.ingest import record_dead_letter
    from citymeter.incidents import messages

    code = getattr(source, "code", None) or "mqtt"
    writer = Viewer(user_id=None, username=f"source:{code}", role="data_steward")
    number = route.id_template.format(**values) if route.id_template else None
    try:
        body = _json_body(message.topic, message.payload)
        if not isinstance(body, Mapping):
            raise MalformedMessage(f"the payload on {message.topic} is JSON but not an object")
        with session.begin_nested():
            return messages.apply_message(
                session, writer, body, number=number, source_id=getattr(source, "id", None)
            )
    except (MalformedMessage, CityMeterError) as exc:
        record_dead_letter(
            session,
            channel=CHANNEL,
            reason=exc.message if isinstance(exc, CityMeterError) else str(exc),
            payload={"topic": message.topic, "payload": message.payload.decode("utf-8", "replace")},
            source=source,
        )
        return "dead"


class MqttConnector(BaseConnector):
    """Subscribes to an MQTT broker and stores what arrives (a "stream" connector)."""

    mode: ClassVar[Mode] = "stream"

    def __init__(self, member: int | None = None) -> None:
        # `member` k: this is worker k of a source served by several processes (a shared
        # subscription, client id <client_id>-k); None: the connector the runner started.
        self._member = member
        self._pool: WorkerPool | None = None
        self._pool_inbox = 0
        self.stats = MqttStats()
        # For a pool: each worker's latest counters (and "connected", "inbox"), by member number.
        self.member_stats: dict[int, dict[str, Any]] = {}
        self._client: Any = None
        self._inbox: queue.Queue[_Inbound] = queue.Queue()
        self._stopping = threading.Event()
        self._worker: threading.Thread | None = None
        self._generation = 0
        self._lock = threading.Lock()
        self.connected = threading.Event()
        self.config: MqttConfig | None = None

    def check_config(self, config: Mapping[str, Any]) -> dict[str, Any]:
        config = super().check_config(config)
        parse_config(config)
        return config

    # -- life cycle ----------------------------------------------------------------------------
    def start(self, ctx: ConnectorContext) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        cfg = parse_config(ctx.config, ctx.source_code)
        self.config = cfg
        self._ctx = ctx
        if cfg.processes > 1 and self._member is None:
            self._start_pool(ctx, cfg)
            return
        v5 = cfg.protocol == "5"
        client_id = cfg.client_id if self._member is None else f"{cfg.client_id}-{self._member}"
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
            clean_session=None if v5 else False,
            manual_ack=True,
        )
        if cfg.username:
            client.username_pw_set(cfg.username, cfg.password)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self._client = client
        self._stopping.clear()
        self._worker = threading.Thread(
            target=self._work, name=f"citymeter-mqtt-{ctx.source_code}", daemon=True
        )
        self._worker.start()
        if v5:
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = cfg.session_expiry_s
            properties.ReceiveMaximum = cfg.receive_maximum
            client.connect_async(
                cfg.host, cfg.port, cfg.keepalive_s, clean_start=False, properties=properties
            )
        else:
            client.connect_async(cfg.host, cfg.port, cfg.keepalive_s)
        client.loop_start()

    def _start_pool(self, ctx: ConnectorContext, cfg: MqttConfig) -> None:
        from citymeter.connectors.mqtt_workers import WorkerPool

        try:
            pool = WorkerPool(ctx, cfg.processes, self._pool_stats, self._error)
        except ValueError as exc:
            raise InvalidInput(f"MQTT source {ctx.source_code!r}: {exc}.") from None
        self._pool = pool
        pool.start()

    def _pool_stats(
        self, by_member: Mapping[int, Mapping[str, Any]], ended: Sequence[Mapping[str, Any]]
    ) -> None:
        """Add up the counters of the running workers (each sends all of its own) and of the
        worker processes that ended (killed, or restarted)."""
        assert self.config is not None
        totals = MqttStats()
        for counters in [*by_member.values(), *ended]:
            for name in _COUNTERS:
                setattr(totals, name, getattr(totals, name) + int(counters[name]))
        totals.errors = self.stats.errors
        self.stats = totals
        self.member_stats = {member: dict(c) for member, c in by_member.items()}
        self._pool_inbox = sum(int(c["inbox"]) for c in by_member.values())
        everyone = len(by_member) == self.config.processes
        if everyone and all(c["connected"] for c in by_member.values()):
            self.connected.set()
        else:
            self.connected.clear()

    def inbox_size(self) -> int:
        """Messages received but not yet stored (in every worker, for a pool)."""
        return self._pool_inbox if self._pool is not None else self._inbox.qsize()

    def stop(self) -> None:
        if self._pool is not None:
            self._pool.stop()
            self._pool = None
            self.connected.clear()
            return
        self._stopping.set()
        if self._worker is not None:
            self._worker.join(timeout=10)
            self._worker = None
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.disconnect()
            with contextlib.suppress(Exception):
                self._client.loop_stop()
            self._client = None
        self.connected.clear()

    # -- paho callbacks (paho's network thread) ------------------------------------------------
    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            self._error(f"the MQTT broker refused the connection: {reason}")
            return
        with self._lock:
            self._generation += 1
        self.stats.connects += 1
        assert self.config is not None
        filters = [route.subscription for route in self.config.routes]
        if self._member is not None:
            filters = [f"$share/{self.config.share_group}/{f}" for f in filters]
        client.subscribe([(f, 1) for f in filters])
        self.connected.set()
        log.info(
            "mqtt %s: connected (session present: %s)",
            self.config.client_id,
            getattr(flags, "session_present", None),
        )

    def _on_disconnect(
        self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        self.connected.clear()
        self.stats.disconnects += 1
        if not self._stopping.is_set():
            self._error(f"lost the connection to the MQTT broker ({reason}); reconnecting")

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        self.stats.received += 1
        self._inbox.put(
            _Inbound(
                generation=self._generation,
                mid=message.mid,
                qos=message.qos,
                topic=message.topic,
                payload=bytes(message.payload),
                received_at=dt.datetime.now(dt.UTC),
            )
        )

    def _error(self, message: str) -> None:
        log.warning("mqtt: %s", message)
        self.stats.errors.append(message)
        del self.stats.errors[:-20]
        with contextlib.suppress(Exception):
            self._ctx.report_error(message)

    # -- the worker: batch, store, commit, then acknowledge ------------------------------------
    def _next_batch(self, cfg: MqttConfig) -> list[_Inbound]:
        try:
            first = self._inbox.get(timeout=0.2)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + cfg.batch_ms / 1000
        while len(batch) < cfg.batch_size:
            try:
                batch.append(self._inbox.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                break
        return batch

    def _work(self) -> None:
        assert self.config is not None
        cfg = self.config
        backoff = 0.5
        batch: list[_Inbound] = []
        while not self._stopping.is_set():
            if not batch:
                batch = self._next_batch(cfg)
                if not batch:
                    continue
            try:
                stored, duplicates, dead = self._store(batch)
            except Exception as exc:  # the database is down: keep the batch, retry
                self._error(f"could not store {len(batch)} MQTT messages: {exc}")
                if self._stopping.wait(backoff):
                    return
                backoff = min(backoff * 2, 30.0)
                continue
            backoff = 0.5
            self._ack(batch)
            self.stats.stored += stored
            self.stats.duplicates += duplicates
            self.stats.dead_lettered += dead
            self.stats.batches += 1
            with contextlib.suppress(Exception):
                self._ctx.report(
                    ConnectorResult(
                        records_in=len(batch), accepted=stored + duplicates, rejected=dead
                    )
                )
            batch = []

    def _store(self, batch: Sequence[_Inbound]) -> tuple[int, int, int]:
        assert self.config is not None
        parsed = parse_messages(batch, self.config.routes)
        try:
            return self._store_parsed(parsed, retry_refused=True)
        except StoreRefused as exc:
            # Most often another worker of the same source created an entity this batch also
            # saw as new (PostgreSQL): the batch goes through on a second try. What the database
            # refuses again is dead-lettered with the reason, so one bad batch never stalls the
            # stream.
            log.warning("mqtt: the store refused a batch (%s); trying it once more", exc)
            return self._store_parsed(parsed, retry_refused=False)

    def _store_parsed(self, parsed: ParsedBatch, *, retry_refused: bool) -> tuple[int, int, int]:
        from citymeter.places.models import City
        from citymeter.sources.models import Source

        assert self.config is not None
        # SQLite's write lock up front: other workers of the source write from other processes.
        with write_session(self._ctx.sessions) as session:
            source = session.scalar(select(Source).where(Source.code == self._ctx.source_code))
            city = None
            if self._ctx.city:
                city = session.scalar(select(City).where(City.code == self._ctx.city))
            return store_messages(
                session,
                parsed,
                self.config.routes,
                source=source,
                city=city,
                retry_refused=retry_refused,
            )

    def _ack(self, batch: Sequence[_Inbound]) -> None:
        client = self._client
        if client is None:
            return
        # Subscriptions are QoS 1, so the broker sends QoS 0 or 1. A message received on an older
        # connection is sent again by the broker (ingest dedupes it): only this connection's QoS 1
        # messages are acknowledged.
        mids = [m.mid for m in batch if m.qos == 1 and m.generation == self._generation]
        queue_packet = getattr(client, "_packet_queue", None)
        if queue_packet is not None and mids:
            # One write for the batch's PUBACKs instead of one wake-up and one socket write each
            # (what paho's ack() does); the bytes on the wire are the same packets.
            packets = b"".join(struct.pack("!BBH", _PUBACK, 2, mid) for mid in mids)
            queue_packet(_PUBACK, packets, 0, 1)
        else:
            for mid in mids:
                client.ack(mid, 1)
        self.stats.acked += len(mids)
