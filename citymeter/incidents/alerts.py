"""Alert rules that publish an internal "alert" live event once the transaction commits.

- an incident at or above a severity (on creation);
- PM2.5 above a threshold for a whole hour (the hourly roll-up's minimum is above it);
- a source going stale (citymeter.sources.health.freshness).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from citymeter.db.base import utcnow
from citymeter.entities.models import AttributeRollup, Entity
from citymeter.incidents.models import Incident
from citymeter.live.events import LiveEvent, publish_after_commit
from citymeter.sources.health import freshness
from citymeter.sources.models import Source

MIN_SEVERITY = 4
PM25_THRESHOLD = 35.0  # µg/m³, Korea's "bad" band for PM2.5 starts at 36


@dataclass(frozen=True)
class Alert:
    rule: str
    message: str
    data: dict[str, Any]
    district_id: int | None = None


def publish(session: Session, alert: Alert) -> None:
    publish_after_commit(
        session,
        LiveEvent(
            kind="alert",
            data={"rule": alert.rule, "message": alert.message, **alert.data},
            district_id=alert.district_id,
            visibility="internal",
        ),
    )


def on_incident(session: Session, incident: Incident, min_severity: int = MIN_SEVERITY) -> None:
    if incident.severity >= min_severity:
        publish(
            session,
            Alert(
                rule="incident.severity",
                message=f"Incident {incident.number}: severity {incident.severity}",
                data={"number": incident.number, "severity": incident.severity},
                district_id=incident.district_id,
            ),
        )


def pm25_alerts(
    session: Session, *, threshold: float = PM25_THRESHOLD, now: dt.datetime | None = None
) -> list[Alert]:
    """Stations whose PM2.5 stayed above `threshold` for the last complete hour."""
    hour = (now or utcnow()).astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    start = hour - dt.timedelta(hours=1)
    rows = session.execute(
        select(Entity, AttributeRollup)
        .join(AttributeRollup, AttributeRollup.entity_pk == Entity.id)
        .where(
            AttributeRollup.attr == "pm25",
            AttributeRollup.grain == "hour",
            AttributeRollup.bucket_start == start,
            AttributeRollup.min > threshold,
        )
        .order_by(Entity.entity_id)
    )
    return [
        Alert(
            rule="pm25.hour",
            message=f"{entity.entity_id}: PM2.5 above {threshold:g} µg/m³ for the hour from "
            f"{start:%H:%M} UTC (lowest {rollup.min:g})",
            data={"entity_id": entity.entity_id, "min": rollup.min, "hour": start.isoformat()},
            district_id=entity.district_id,
        )
        for entity, rollup in rows
    ]


def stale_source_alerts(session: Session, *, now: dt.datetime | None = None) -> list[Alert]:
    return [
        Alert(
            rule="source.stale",
            message=f"Source {source.code} is stale: no data for over three expected intervals",
            data={"source": source.code},
        )
        for source in session.scalars(select(Source).order_by(Source.code))
        if freshness(source, now) == "stale"
    ]


def check(
    session: Session, *, threshold: float = PM25_THRESHOLD, now: dt.datetime | None = None
) -> list[Alert]:
    """Evaluate the PM2.5 and stale-source rules now and publish what fires."""
    fired = pm25_alerts(session, threshold=threshold, now=now) + stale_source_alerts(
        session, now=now
    )
    for alert in fired:
        publish(session, alert)
    return fired
