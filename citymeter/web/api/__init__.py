"""The JSON API under /api/v1, one module per feature."""

from citymeter.web.api import (
    areas,
    assessment,
    audit,
    auth,
    cities,
    dashboard,
    directives,
    incidents,
    indicators,
    ingest,
    live,
    metrics,
    ngsi_ld,
    observations,
    open311,
    sources,
    suggestions,
    system,
    trends,
    users,
)

# Routes are matched in this order, one by one, so the feeds other systems call many times a
# second (complaint filing, pushed readings, NGSI-LD, the live stream) come first: matching
# every route ahead of the Open311 POST cost ~0.3 ms a request. No two routers share a path.
ROUTERS = [
    open311.router,
    ingest.router,
    ngsi_ld.router,
    live.router,
    system.router,
    auth.router,
    users.router,
    audit.router,
    cities.router,
    dashboard.router,
    areas.router,
    metrics.router,
    observations.router,
    indicators.router,
    sources.router,
    assessment.router,
    incidents.router,
    suggestions.router,
    trends.router,
    directives.router,
]
