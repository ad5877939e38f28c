"""`citymeter bench`."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Measure speed against a raw baseline in the same run.", no_args_is_help=True
)


@app.command("lookup")
def lookup(
    city: str | None = typer.Option(None, help="City code (default: the only city in the store)."),
    count: int = typer.Option(100_000, min=1000, help="How many random points to look up."),
    synthetic: bool = typer.Option(
        False, help="Use a synthetic grid of 400 square neighbourhoods instead of the store."
    ),
) -> None:
    """Time point-in-area lookups (lat/lon → neighbourhood, district, city) against a bare
    STRtree baseline. Without boundaries in the store, a synthetic 400-polygon grid is used."""
    import time

    from citymeter.cli.common import console, handle_errors, open_session
    from citymeter.errors import CityMeterError
    from citymeter.places import locator as places_locator
    from citymeter.places import lookup_bench
    from citymeter.places import service as places

    @handle_errors
    def _run() -> None:
        built: places_locator.AreaLocator | None = None
        label = "synthetic grid (20×20 squares)"
        if not synthetic:
            try:
                with open_session() as session:
                    target = places.get_city(session, city)
                    started = time.perf_counter()
                    built = places_locator.build_locator(session, target)
                    label = f"{target.name} ({target.code})"
                    console.print(f"Built the locator in {time.perf_counter() - started:.3f} s.")
            except CityMeterError as exc:
                if city is not None:
                    raise
                console.print(f"No city boundaries to use ({exc.message}); using a grid.")
        if built is None:
            built = lookup_bench.synthetic_grid()
        result = lookup_bench.run(built, label, count)
        console.print(
            f"{result.label}: {result.polygons} polygons, {result.lookups:,} random points "
            f"({result.found:,} inside an area)"
        )
        console.print(f"  citymeter locate()      {result.per_second:>12,.0f} lookups/s")
        console.print(f"  bare STRtree baseline   {result.baseline_per_second:>12,.0f} lookups/s")
        console.print(f"  locate_many() (batch)   {result.batch_per_second:>12,.0f} lookups/s")
        verdict = "meets" if result.per_second >= 10_000 else "MISSES"
        console.print(f"  {verdict} the target of 10,000 lookups/s")

    _run()


@app.command("import")
def import_(
    rows: int = typer.Option(1_000_000, min=1000, help="How many observations to import."),
    shape: str = typer.Option(
        "both",
        help="long (a CSV row per observation), wide (a row per area and month with 202 "
        "sex × age columns, like the Korean population export) or both.",
    ),
) -> None:
    """Time importing a generated CSV into a fresh SQLite store through the real importer,
    against a raw sqlite3 executemany of the same rows into the same table."""
    from citymeter.cli.common import console
    from citymeter.observations import bench as observations_bench

    shapes = ("long", "wide") if shape == "both" else (shape,)
    if not set(shapes) <= {"long", "wide"}:
        raise typer.BadParameter("choose long, wide or both", param_hint="--shape")
    for one in shapes:
        result = observations_bench.run(rows, say=console.print, shape=one)
        console.print(
            f"{result.rows:,} observations, {one} format, from a {result.file_mb:.1f} MB CSV "
            "into SQLite"
        )
        console.print(
            f"  citymeter importer     {result.import_rows_per_s:>12,.0f} rows/s "
            f"({result.import_seconds:.2f} s: read, parse, match, upsert)"
        )
        console.print(
            f"  raw sqlite3 executemany{result.raw_rows_per_s:>12,.0f} rows/s "
            f"({result.raw_seconds:.2f} s: insert of pre-built tuples)"
        )
        console.print(f"  ratio importer/raw     {result.ratio:>12.2f}")
        console.print(
            f"  CPU of the import      {result.import_cpu_seconds:>12.2f} s here, "
            f"{result.reader_cpu_seconds:.2f} s in the reader process"
            + ("" if result.reader_cpu_seconds else " (read in-process)")
        )
        console.print(f"  peak memory (RSS)      {result.peak_mb:>12,.0f} MB")
        console.print(f"  database after import  {result.database_mb:>12,.0f} MB")
        if result.reader_peak_mb:
            console.print(
                f"  reader process (RSS)   {result.reader_peak_mb:>12,.0f} MB "
                "(shares the pages it inherited)"
            )
        rate_ok = result.import_rows_per_s >= 250_000
        ratio_ok = result.ratio >= 0.25
        console.print(
            f"  target 250,000 rows/s: {'met' if rate_ok else 'MISSED'}; "
            f"target ratio 0.25: {'met' if ratio_ok else 'MISSED'}"
        )


@app.command("ingest-http")
def ingest_http(
    stations: int = typer.Option(500, min=1, help="Air-quality stations pushing readings."),
    steps: int = typer.Option(120, min=1, help="Readings per station (a minute apart)."),
    batch_size: int = typer.Option(5000, min=1, help="Readings per request."),
    database_url: str | None = typer.Option(
        None,
        help="A NEW, EMPTY database the bench may fill and leave filled (default: a temporary "
        "SQLite file, removed afterwards). Never point it at a database in use.",
    ),
) -> None:
    """Push readings in batches to POST /api/v1/ingest/readings of a real uvicorn server and
    compare with a raw sqlite3 executemany of the same readings (the store's table shape, and
    the one-row-per-value shape before it)."""
    from citymeter.cli.common import console, handle_errors
    from citymeter.entities import bench as entities_bench

    @handle_errors
    def _run() -> None:
        r = entities_bench.run(
            stations=stations, steps=steps, batch_size=batch_size, database_url=database_url
        )
        console.print(
            f"{r.readings:,} readings ({r.points:,} points) in {r.batches} batches of "
            f"{r.batch_size:,} on {r.backend}: accepted {r.accepted:,}, duplicates "
            f"{r.duplicates:,}, rejected {r.rejected:,}"
        )
        console.print(
            f"  HTTP ingest            {r.per_second:>10,.0f} readings/s ({r.seconds:.2f} s)"
        )
        console.print(
            f"  raw sqlite3 baseline   {r.baseline_per_second:>10,.0f} readings/s "
            f"({r.baseline_seconds:.2f} s)"
        )
        console.print(
            f"  raw, a row per value   {r.point_baseline_per_second:>10,.0f} readings/s "
            f"({r.point_baseline_seconds:.2f} s)"
        )
        console.print(f"  p95 per batch          {r.p95_ms:>10,.0f} ms")
        console.print(f"  peak RSS               {r.peak_mb:>10,.0f} MB")
        verdict = "meets" if r.per_second >= 50_000 else "MISSES"
        console.print(f"  {verdict} the target of 50,000 readings/s")

    _run()


@app.command("ngsi")
def ngsi(
    count: int = typer.Option(5000, min=100, help="How many PATCH requests to send."),
    entities: int = typer.Option(100, min=1, help="How many entities the updates spread over."),
    clients: list[int] = typer.Option(
        [],
        min=1,
        max=64,
        help="Concurrent keep-alive connections (updates that arrive together share a commit); "
        "repeat it for several runs. Default: 1, 4 and 16.",
    ),
    database_url: str | None = typer.Option(
        None, help="Run on this database (e.g. PostgreSQL) instead of a fresh SQLite file."
    ),
) -> None:
    """Time single-entity attribute updates (PATCH /ngsi-ld/v1/entities/{id}/attrs) against a
    real uvicorn server on 127.0.0.1 at 1, 4 and 16 connections (or those given), beside a
    bare-uvicorn HTTP floor and the in-process service floor, all in one run on a fresh SQLite
    store."""
    from citymeter.cli.common import console, handle_errors
    from citymeter.ngsi import bench as ngsi_bench

    @handle_errors
    def _run() -> None:
        result = ngsi_bench.run(
            count=count,
            entities=entities,
            clients=tuple(clients) or ngsi_bench.DEFAULT_CLIENTS,
            database_url=database_url,
            say=console.print,
        )
        for line in ngsi_bench.summary(result):
            console.print(line)

    _run()


@app.command("mqtt")
def mqtt(
    seconds: float = typer.Option(60.0, min=1, max=600, help="How long to publish."),
    rate: int = typer.Option(
        10_500,
        min=1,
        max=100_000,
        help="Messages per second published: 5 % above the 10,000/s target by default, so that a "
        "store that keeps up shows it (at exactly 10,000/s offered, no pipeline can show more).",
    ),
    url: str = typer.Option("mqtt://127.0.0.1:1883", help="The MQTT broker (loopback)."),
    database_url: str | None = typer.Option(
        None,
        help="A NEW, EMPTY database the bench may fill (default: a temporary SQLite file, "
        "removed afterwards). Never point it at a database in use.",
    ),
    processes: int = typer.Option(
        1, min=1, max=16, help="Connector processes on an MQTT 5 shared subscription."
    ),
) -> None:
    """Publish air-quality messages at QoS 1 through Mosquitto into the store with the MQTT
    connector, and compare with a bare paho subscriber that only counts them."""
    from citymeter.cli.common import console, handle_errors
    from citymeter.live import bench as live_bench

    @handle_errors
    def _run() -> None:
        r = live_bench.run_mqtt(
            url=url, rate=rate, seconds=seconds, database_url=database_url, processes=processes
        )
        console.print(
            f"{r.published:,} messages published in {r.publish_seconds:.1f} s "
            f"({r.publish_rate:,.0f}/s offered); store: {r.backend}; "
            f"connector processes: {r.processes}"
        )
        console.print(
            f"  bare paho subscriber   {r.baseline_rate:>10,.0f} messages/s "
            f"({r.baseline_received:,} received)"
        )
        console.print(
            f"  MQTT → store           {r.store_rate:>10,.0f} messages/s "
            f"({r.stored:,} stored, {r.dead_lettered:,} dead-lettered, {r.lost:,} lost; "
            f"first to last batch {r.store_seconds:.1f} s, done {r.lag_seconds:.1f} s after the "
            "last publish)"
        )
        verdict = "meets" if r.store_rate >= 10_000 and r.lost == 0 else "MISSES"
        console.print(f"  {verdict} the target of 10,000 messages/s with zero loss")

    _run()


@app.command("live")
def live(
    clients: int = typer.Option(100, min=1, max=1000, help="Connected SSE clients."),
    events: int = typer.Option(200, min=1, max=10_000, help="Events published."),
    per_second: float = typer.Option(20.0, min=1, max=1000, help="Events per second."),
) -> None:
    """Event-to-SSE latency with many clients on a real server, against bus subscriptions alone."""
    from citymeter.cli.common import console, handle_errors
    from citymeter.live import bench as live_bench

    @handle_errors
    def _run() -> None:
        r = live_bench.run_live(clients=clients, events=events, per_second=per_second)
        console.print(
            f"{r.events} events to {r.clients} SSE clients: {r.deliveries:,} of "
            f"{r.events * r.clients:,} deliveries"
        )
        console.print(f"  SSE latency p50        {r.p50_ms:>8.1f} ms")
        console.print(f"  SSE latency p95        {r.p95_ms:>8.1f} ms (max {r.max_ms:.1f} ms)")
        console.print(f"  bus-only baseline p95  {r.baseline_p95_ms:>8.2f} ms")
        complete = r.deliveries == r.events * r.clients
        verdict = "meets" if r.p95_ms < 200 and complete else "MISSES"
        console.print(f"  {verdict} the target of p95 < 200 ms")

    _run()


@app.command("assessment")
def assessment(
    cities: int = typer.Option(40, min=2, help="Cities in the round."),
    assessors: int = typer.Option(9, min=1, help="Assessors scoring every sub-indicator."),
) -> None:
    """Aggregate a certification round (cities × 53 sub-indicators × assessors, scores in a
    database) into committee results and rank the cities; the target is under 2 s."""
    from citymeter.assessment import bench as assessment_bench
    from citymeter.cli.common import console

    result = assessment_bench.run(cities, assessors)
    console.print(
        f"{result.cities} cities × {result.elements} sub-indicators × {result.assessors} "
        f"assessors = {result.scores:,} scores (loaded in {result.load_seconds:.2f} s)"
    )
    console.print(
        f"  aggregated and ranked in {result.aggregate_seconds:.3f} s; {result.certified} certified"
    )
    verdict = "meets" if result.aggregate_seconds < 2 else "MISSES"
    console.print(f"  {verdict} the target of 2 s")
    console.print(
        f"One assessment report PDF ({result.report_pdf_bytes:,} bytes): content "
        f"{result.report_data_seconds:.3f} s + rendering {result.report_pdf_seconds:.3f} s "
        f"(baseline, a one-line PDF in the same font: {result.baseline_pdf_seconds:.3f} s)"
    )
    total = result.report_data_seconds + result.report_pdf_seconds
    console.print(f"  {'meets' if total < 5 else 'MISSES'} the target of 5 s")


@app.command("indicators")
def indicators(
    districts: int = typer.Option(25, min=1, help="Districts of the generated city."),
    neighbourhoods: int = typer.Option(400, min=0, help="Neighbourhoods of the generated city."),
    months: int = typer.Option(120, min=2, help="Months of data (120 = 10 years)."),
    repeats: int = typer.Option(200, min=2, help="Repetitions of each read for the p95."),
) -> None:
    """Full recompute of every shipped pack on a generated city (monthly data by sex and 5-year
    age band, stored through store_observations into a temporary SQLite file), an incremental
    recompute after one more month, and the read paths, each against a raw SQL baseline."""
    from citymeter.cli.common import console
    from citymeter.indicators import bench as indicators_bench

    r = indicators_bench.run(
        districts=districts, neighbourhoods=neighbourhoods, months=months, repeats=repeats,
        say=console.print,
    )  # fmt: skip
    console.print(
        f"{r.observations:,} observations: {r.districts} districts, {r.neighbourhoods} "
        f"neighbourhoods, {r.months} months, by sex and 5-year age band",
        highlight=False,
    )
    console.print(f"  build (store_observations)   {r.build_seconds:>9.1f} s")
    console.print(
        f"  full recompute, all packs    {r.full_seconds:>9.1f} s "
        f"({r.values_written:,} values; "
        + ", ".join(f"{k} {v:.1f} s" for k, v in r.per_pack.items())
        + ")",
        highlight=False,
    )
    console.print(f"  raw GROUP BY (one indicator) {r.raw_group_by_seconds:>9.1f} s")
    console.print(
        f"  incremental after one month  {r.incremental_seconds:>9.1f} s "
        f"({r.incremental_values:,} values)"
    )
    console.print(
        f"  series p95                   {r.series_p95_ms:>9.1f} ms "
        f"(raw SQL {r.series_raw_p95_ms:.1f} ms)"
    )
    console.print(
        f"  overview cards p95           {r.cards_p95_ms:>9.1f} ms "
        f"(raw SQL {r.cards_raw_p95_ms:.1f} ms)"
    )
    console.print(f"  peak memory (RSS, whole run) {r.peak_mb:>9,.0f} MB")
    targets = [
        ("full < 60 s", r.full_seconds < 60),
        ("incremental < 5 s", r.incremental_seconds < 5),
        ("series p95 < 30 ms", r.series_p95_ms < 30),
        ("cards p95 < 100 ms", r.cards_p95_ms < 100),
        ("peak < 1.5 GB", r.peak_mb < 1536),
    ]
    console.print("  " + "; ".join(f"{name}: {'met' if ok else 'MISSED'}" for name, ok in targets))


@app.command("query")
def query(
    city: str = typer.Option("9900000000", help="City code (default: the demo city)."),
    code: str = typer.Option("employment_rate", help="Indicator of the series."),
    repeats: int = typer.Option(200, min=2, help="Repetitions for the p95."),
) -> None:
    """Time reads of computed values in the configured store: a district × month × sex series
    of one indicator (target p95 < 30 ms) and the overview's headline cards (p95 < 100 ms)."""
    from citymeter.cli.common import console, handle_errors, open_session
    from citymeter.indicators import bench as indicators_bench

    @handle_errors
    def _run() -> None:
        with open_session() as session:
            r = indicators_bench.run_queries(session, city=city, code=code, repeats=repeats)
        console.print(
            f"{r.city}: {r.code} series over {r.districts} districts ({r.series_rows} months "
            f"each): p95 {r.series_p95_ms:.1f} ms "
            f"({'met' if r.series_p95_ms < 30 else 'MISSED'} < 30 ms)",
            highlight=False,
        )
        console.print(
            f"  {r.cards} headline cards: p95 {r.cards_p95_ms:.1f} ms "
            f"({'met' if r.cards_p95_ms < 100 else 'MISSED'} < 100 ms)",
            highlight=False,
        )

    _run()


@app.command("search")
def search(
    city: str | None = typer.Option(None, help="City code (default: the only or first city)."),
    rounds: int = typer.Option(5, min=1, help="Times each command is interpreted."),
) -> None:
    """Time command search (citymeter/search): p95 per command on a city in the store (target
    < 5 ms), against a bare split-and-dict-lookup baseline over the same commands."""
    from citymeter.accounts.permissions import SYSTEM_VIEWER
    from citymeter.cli.common import console, handle_errors, open_session
    from citymeter.search import bench as search_bench
    from citymeter.search.service import city_for

    @handle_errors
    def _run() -> None:
        with open_session() as session:
            r = search_bench.run(session, city_for(session, SYSTEM_VIEWER, city), rounds=rounds)
        console.print(
            f"{r.city}: {r.areas} areas, {r.phrases:,} phrases; index built in "
            f"{r.index_seconds:.3f} s",
            highlight=False,
        )
        console.print(
            f"  {r.commands} commands × {rounds} ({r.understood} understood): "
            f"p50 {r.p50_ms:.2f} ms, p95 {r.p95_ms:.2f} ms, max {r.max_ms:.2f} ms "
            f"({'met' if r.p95_ms < 5 else 'MISSED'} < 5 ms)",
            highlight=False,
        )
        console.print(
            f"  with the per-request cache check: p95 {r.cached_p95_ms:.2f} ms; "
            f"split-and-lookup baseline p95 {r.baseline_p95_ms:.3f} ms",
            highlight=False,
        )

    _run()


@app.command("open311")
def open311(
    requests: int = typer.Option(1_000_000, min=100, help="Service requests to store first."),
    reads: int = typer.Option(1000, min=10, help="GET requests.json calls to time."),
    posts: int = typer.Option(3000, min=10, help="POST requests.json calls to time."),
    clients: int = typer.Option(
        4, min=1, help="Connections filing at once in the second POST run (1 skips it)."
    ),
    database_url: str | None = typer.Option(
        None,
        help="A NEW, EMPTY database the bench may fill and leave filled (default: a temporary "
        "SQLite file, removed afterwards). Never point it at a database in use.",
    ),
) -> None:
    """Time the Open311 list (status=open, 100 a page; target p95 < 50 ms) and request filing
    (target ≥ 500/s) through the real app in uvicorn, against the bare SQL page query and a bare
    INSERT + COMMIT, after bulk-filling the store."""
    from citymeter.cli.common import console, handle_errors
    from citymeter.complaints import bench as complaints_bench

    @handle_errors
    def _run() -> None:
        result = complaints_bench.run(
            requests=requests,
            reads=reads,
            posts=posts,
            database_url=database_url,
            say=lambda line: console.print(line, highlight=False),
            clients=clients,
        )
        for line in complaints_bench.summary(result):
            console.print(line, highlight=False)

    _run()


@app.command("pages")
def pages(
    requests: int = typer.Option(200, min=1, help="Timed requests of each page per viewer."),
    warmup: int = typer.Option(20, min=0, help="Untimed rounds of every page first."),
    browser_runs: int = typer.Option(
        5, min=0, help="Dashboard loads in headless Chromium per viewer (0 skips the browser)."
    ),
    months: int | None = typer.Option(
        None, min=13, help="Months of demo statistics to build (default: the demo's own)."
    ),
    small: bool = typer.Option(
        False, help="Build only three demo accounts and no certification demo (a quick check)."
    ),
    database_url: str | None = typer.Option(
        None,
        help="An existing store with the demo city built (`citymeter demo --no-serve`); the "
        "bench logs the demo mayor in there. Default: the full demo built into a temporary "
        "SQLite file, removed afterwards.",
    ),
) -> None:
    """Time the dashboard, a district page and an indicator page on the full demo city through
    a real uvicorn server, for the public and the mayor (target p95 < 150 ms), against GET
    /healthz on the same server; then load the dashboard in headless Chromium (complete in
    < 2 s, under 2 MB transferred on first load)."""
    from citymeter.cli.common import console, handle_errors
    from citymeter.dashboard import bench as pages_bench

    @handle_errors
    def _run() -> None:
        result = pages_bench.run(
            requests=requests,
            warmup=warmup,
            browser_runs=browser_runs,
            months=months,
            small=small,
            database_url=database_url,
            say=lambda line: console.print(line, highlight=False, markup=False, soft_wrap=True),
        )
        for line in pages_bench.summary(result):
            console.print(line, highlight=False, markup=False, soft_wrap=True)

    _run()
