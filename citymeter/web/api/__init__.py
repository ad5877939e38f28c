"""The JSON API under /api/v1, one module per feature."""

from citymeter.web.api import (
    areas,
    assessment,
    audit,
    auth,
    cities,
    incidents,
    indicators,
    ingest,
    live,
    metrics,
    ngsi_ld,
    observations,
    open311,
    sources,
    system,
    users,
)

ROUTERS = [
    system.router,
    auth.router,
    users.router,
    audit.router,
    cities.router,
    areas.router,
    metrics.router,
    observations.router,
    indicators.router,
    sources.router,
    assessment.router,
    ingest.router,
    live.router,
    ngsi_ld.router,
    open311.router,
    incidents.router,
]
