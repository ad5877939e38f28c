"""The `citymeter` command."""

from __future__ import annotations

import typer

from citymeter.cli import (
    areas,
    assessment,
    audit,
    bench,
    cities,
    complaints,
    db,
    demo,
    directives,
    entities,
    frameworks,
    incidents,
    indicators,
    metrics,
    observations,
    pledges,
    search,
    serve,
    sources,
    suggestions,
    trends,
    users,
)

app = typer.Typer(
    name="citymeter",
    help="CityMeter: see, measure and certify a smart city.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(db.app, name="db")
app.add_typer(cities.app, name="cities")
app.add_typer(areas.app, name="areas")
app.add_typer(metrics.app, name="metrics")
app.add_typer(observations.app, name="observations")
app.add_typer(users.app, name="users")
app.add_typer(audit.app, name="audit")
app.add_typer(bench.app, name="bench")
app.add_typer(indicators.app, name="indicators")
app.add_typer(pledges.app, name="pledges")
app.add_typer(frameworks.app, name="frameworks")
app.add_typer(sources.app, name="sources")
app.add_typer(entities.app, name="entities")
app.add_typer(incidents.app, name="incidents")
app.add_typer(complaints.app, name="complaints")
app.add_typer(suggestions.app, name="suggestions")
app.add_typer(trends.app, name="trends")
app.add_typer(directives.app, name="directives")
app.add_typer(assessment.rounds_app, name="rounds")
app.add_typer(assessment.certificates_app, name="certificates")
app.command("serve")(serve.serve)
app.command("demo")(demo.run)
app.command("search")(search.run)
